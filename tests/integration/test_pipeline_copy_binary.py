"""db_loader's binary COPY into a real PostgreSQL: the rows read back equal the Parquet file's, and
equal what the CSV COPY (the server's own text input) loads from the same file."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jobu_handlers.pipeline import bulk_load
from jobu_handlers.pipeline.errors import LoadError, MalformedInputError
from tests.support.pipeline import execute, run_step

pytestmark = pytest.mark.usefixtures("data_access")

KOLKATA = timezone(timedelta(hours=5, minutes=30))
ROWS = 12  # each column's row 3 is NULL (but id's)
TEXT = ["plain", "ünï ✓ 𝄞 emoji 🎉", "", 'quote " comma , tab \t nl \n', "\\N", "NULL", "x" * 300, "日本語"]
FLOATS = [0.1, -0.0, math.inf, -math.inf, math.nan, 1e308, 5e-324, -123.456]
DECIMALS = ["0", "-0.01", "12345.67", "-9999999999.99", "9999999999.99", "0.10", "1", "-1"]
STAMPS = [
    datetime(2026, 1, 2, 3, 4, 5, 678901),
    datetime(1999, 12, 31, 23, 59, 59, 999999),
    datetime(2000, 1, 1),
    datetime(1969, 7, 20, 20, 17, 40),
    datetime(1, 1, 1),
    datetime(9999, 12, 31, 23, 59, 59, 999999),
    datetime(1970, 1, 1),
    datetime(2026, 3, 29, 1, 30),
]

COLUMNS: dict[str, tuple[str, pa.DataType, list[Any]]] = {
    # name: (PostgreSQL column type, Arrow type, values; cycled over the rows)
    "i64": ("BIGINT", pa.int64(), [0, 1, -1, 2**63 - 1, -(2**63), 42]),
    "i32": ("INTEGER", pa.int32(), [0, 2**31 - 1, -(2**31), 7]),
    "i16": ("SMALLINT", pa.int16(), [0, 2**15 - 1, -(2**15), -5]),
    "i8_widened": ("SMALLINT", pa.int8(), [127, -128, 0]),
    "u32_widened": ("BIGINT", pa.uint32(), [0, 2**32 - 1, 5]),
    "i32_widened": ("BIGINT", pa.int32(), [-(2**31), 3]),
    "f64": ("DOUBLE PRECISION", pa.float64(), FLOATS),
    "f32": ("REAL", pa.float32(), [0.5, -2.25, math.inf, math.nan, 3.4e38]),
    "flag": ("BOOLEAN", pa.bool_(), [True, False, True, True, False]),
    "day": ("DATE", pa.date32(), [date(2026, 1, 1), date(1969, 12, 31), date(2000, 1, 1), date(1, 1, 1)]),
    "at": ("TIMESTAMP", pa.timestamp("us"), STAMPS),
    "at_ms": ("TIMESTAMP", pa.timestamp("ms"), [datetime(2026, 1, 2, 3, 4, 5, 678000), datetime(1960, 1, 1)]),
    "at_s": ("TIMESTAMP", pa.timestamp("s"), [datetime(2026, 1, 2, 3, 4, 5), datetime(1900, 2, 28)]),
    "at_utc": ("TIMESTAMPTZ", pa.timestamp("us", tz="UTC"), [s.replace(tzinfo=UTC) for s in STAMPS[:4]]),
    "at_kolkata": (
        "TIMESTAMPTZ",
        pa.timestamp("us", tz="Asia/Kolkata"),
        [datetime(2026, 6, 1, 9, 30, tzinfo=KOLKATA), datetime(2000, 1, 1, tzinfo=KOLKATA)],
    ),
    "zoned_into_naive": ("TIMESTAMP", pa.timestamp("us", tz="UTC"), [STAMPS[0].replace(tzinfo=UTC)]),
    "clock": ("TIME", pa.time64("us"), [time(0, 0), time(23, 59, 59, 999999), time(12, 30, 1, 5)]),
    "clock_ms": ("TIME", pa.time32("ms"), [time(1, 2, 3, 456000), time(0, 0)]),
    "amount": ("NUMERIC(12, 2)", pa.decimal128(12, 2), [Decimal(v) for v in DECIMALS]),
    "whole": ("NUMERIC(18, 0)", pa.decimal128(18, 0), [Decimal(10**18 - 1), Decimal(1 - 10**18), Decimal(0)]),
    "tiny": ("NUMERIC(5, 5)", pa.decimal128(5, 5), [Decimal(v) for v in ("0.00001", "-0.99999", "0.5")]),
    "quad": (
        "NUMERIC(8, 4)",
        pa.decimal128(8, 4),
        [Decimal(v) for v in ("1234.5678", "-0.0001", "9999.9999")],
    ),
    "odd_scale": ("NUMERIC", pa.decimal128(10, 3), [Decimal(v) for v in ("1234567.891", "-0.001", "10.5")]),
    "fine": ("NUMERIC(18, 9)", pa.decimal128(18, 9), [Decimal(v) for v in ("123456789.123456789", "-1e-9")]),
    "label": ("TEXT", pa.string(), TEXT),
    "big_label": ("TEXT", pa.large_string(), TEXT[::-1]),
    "short": ("VARCHAR(300)", pa.string(), TEXT[2:]),
    "code": ("CHAR(5)", pa.string(), ["EUR", "ab", "", "ünïcö"]),
    "blob": ("BYTEA", pa.binary(), [b"\x00\x01\xff", b"", b"\\x00", "ü".encode()]),
}


def values(name: str) -> list[Any]:
    cycle = COLUMNS[name][2]
    return [None if row == 3 else cycle[row % len(cycle)] for row in range(ROWS)]


def table() -> pa.Table:
    arrays = {"id": pa.array(range(1, ROWS + 1), pa.int64())}
    arrays |= {name: pa.array(values(name), kind) for name, (_, kind, _) in COLUMNS.items()}
    return pa.table(arrays)


def same(value: Any) -> Any:
    """A value as compared: NaN equal to NaN."""
    return "NaN" if isinstance(value, float) and math.isnan(value) else value


async def fetch(url: str) -> list[tuple[Any, ...]]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(f"SELECT id, {', '.join(COLUMNS)} FROM sales ORDER BY id")
        await conn.execute("TRUNCATE sales")
    finally:
        await conn.close()
    return [tuple(same(value) for value in row) for row in rows]


async def load(url: str, source: Path, rows: int = ROWS) -> str:
    """db_loader's method, having checked it loaded `rows`."""
    result = await run_step("db_loader", {"input_path": str(source), "table": "sales"}, database_url=url)
    data = result.model_dump()
    assert data["rows_loaded"] == rows
    return str(data["method"])


def expected(name: str, value: Any) -> Any:
    """What PostgreSQL gives back for the Parquet value."""
    if value is None:
        return None
    kind = COLUMNS[name][0]
    if kind == "TIMESTAMPTZ":
        return value.astimezone(UTC)
    if name == "zoned_into_naive":
        return value.astimezone(UTC).replace(tzinfo=None)  # the UTC wall time
    if kind == "CHAR(5)":
        return value.ljust(5)
    if kind == "REAL":
        return same(float(pa.scalar(value, pa.float32()).as_py()))
    return same(value)


@pytest.mark.parametrize("batch_rows", [16_384, 5])
async def test_binary_copy_loads_the_parquet_values_and_agrees_with_csv(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch_rows: int
) -> None:
    monkeypatch.setattr(bulk_load, "_BATCH_ROWS", batch_rows)
    columns = ", ".join(f"{name} {kind}" for name, (kind, _, _) in COLUMNS.items())
    await execute(postgres_url, f"CREATE TABLE sales (id BIGINT PRIMARY KEY, {columns})")
    source = tmp_path / "sales.parquet"
    pq.write_table(table(), source)

    assert await load(postgres_url, source) == "copy_binary"
    binary = await fetch(postgres_url)
    monkeypatch.setattr(bulk_load, "binary_encoders", lambda data, columns: None)
    # as CSV, pyarrow writes no binary column (it is not UTF-8): bytea loads only in binary
    pq.write_table(table().drop_columns(["blob"]), source)
    assert await load(postgres_url, source) == "copy"
    text = await fetch(postgres_url)

    want = [(row + 1, *(expected(name, values(name)[row]) for name in COLUMNS)) for row in range(ROWS)]
    for got_binary, got_text, row in zip(binary, text, want, strict=True):
        for index, name in enumerate(["id", *COLUMNS]):
            assert (name, got_binary[index]) == (name, row[index])
            assert (name, got_text[index]) == (name, None if name == "blob" else row[index])
    assert all(value is None for value in binary[3][1:])


@pytest.mark.parametrize(
    ("column", "arrow", "value"),
    [
        ("BIGINT", pa.string(), "5"),  # text the server parses
        ("INTEGER", pa.int64(), 5),  # narrower: the server checks the range
        ("TIMESTAMPTZ", pa.timestamp("us"), datetime(2026, 1, 2, 3, 4, 5)),  # the session's zone
        ("TIMESTAMP", pa.timestamp("ns"), datetime(2026, 1, 2, 3, 4, 5)),  # the server rounds
        ("NUMERIC", pa.decimal128(30, 2), Decimal("1.25")),  # beyond an int64
        ("NUMERIC", pa.float64(), 1.25),
        ("JSONB", pa.string(), '{"a": 1}'),
        ("TEXT[]", pa.string(), "{a,b}"),
    ],
)
async def test_pairs_without_an_exact_binary_form_load_as_csv(
    postgres_url: str, tmp_path: Path, column: str, arrow: pa.DataType, value: Any
) -> None:
    await execute(postgres_url, f"CREATE TABLE sales (id BIGINT, v {column})")
    source = tmp_path / "sales.parquet"
    pq.write_table(pa.table({"id": pa.array([1], pa.int64()), "v": pa.array([value], arrow)}), source)

    assert await load(postgres_url, source, rows=1) == "copy"


async def test_a_type_of_the_same_name_outside_pg_catalog_is_not_taken_for_the_builtin(
    postgres_url: str, tmp_path: Path
) -> None:
    await execute(postgres_url, "CREATE TYPE int8 AS ENUM ('1', '2'); CREATE TABLE sales (id public.int8)")
    source = tmp_path / "sales.parquet"
    pq.write_table(pa.table({"id": pa.array([1, 2], pa.int64())}), source)

    assert await load(postgres_url, source, rows=2) == "copy"


@pytest.mark.parametrize(
    "case",
    [
        ("NUMERIC(5, 2)", pa.decimal128(12, 2), [Decimal(1), Decimal("1234.56")], "numeric field overflow"),
        ("VARCHAR(3)", pa.string(), ["abc", "abcd"], "value too long for type character varying(3)"),
        ("CHAR(2)", pa.string(), ["ab", "abc"], "value too long for type character(2)"),
        ("TEXT", pa.string(), ["ok", "nul \x00 byte"], "invalid byte sequence"),
        ("positive", pa.int64(), [1, -1], 'violates check constraint "positive_check"'),
        ("BIGINT NOT NULL DEFAULT 7", pa.int64(), [1, None], 'null value in column "v"'),
        ("BIGINT UNIQUE", pa.int64(), [1, 1], "duplicate key value"),
    ],
)
async def test_values_the_server_refuses_in_binary_load_nothing(
    postgres_url: str, tmp_path: Path, case: tuple[str, pa.DataType, list[Any], str]
) -> None:
    column, arrow, rows, message = case
    await execute(postgres_url, "CREATE DOMAIN positive AS BIGINT CHECK (VALUE > 0)")
    await execute(postgres_url, f"CREATE TABLE sales (id BIGINT, v {column})")
    await execute(postgres_url, "INSERT INTO sales (id) VALUES (100)")
    source = tmp_path / "sales.parquet"
    ids = pa.array(range(1, len(rows) + 1), pa.int64())
    pq.write_table(pa.table({"id": ids, "v": pa.array(rows, arrow)}), source)

    with pytest.raises(LoadError, match="loading into sales failed, nothing was loaded") as raised:
        await run_step("db_loader", {"input_path": str(source), "table": "sales"}, database_url=postgres_url)

    assert message in str(raised.value)
    conn = await asyncpg.connect(postgres_url)
    try:
        assert [tuple(row) for row in await conn.fetch("SELECT id FROM sales")] == [(100,)]
    finally:
        await conn.close()


async def test_a_time_beyond_microseconds_is_refused(postgres_url: str, tmp_path: Path) -> None:
    await execute(postgres_url, "CREATE TABLE sales (id BIGINT, v TIMESTAMP)")
    source = tmp_path / "sales.parquet"
    seconds = pa.array([0, 10**15], pa.int64()).cast(pa.timestamp("s"))  # year ~31.7 million
    pq.write_table(pa.table({"id": pa.array([1, 2], pa.int64()), "v": seconds}), source)

    with pytest.raises(MalformedInputError, match="cannot convert the input for loading"):
        await run_step("db_loader", {"input_path": str(source), "table": "sales"}, database_url=postgres_url)
