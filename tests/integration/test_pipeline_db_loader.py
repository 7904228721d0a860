"""db_loader against the real PostgreSQL and MariaDB servers: all rows or none."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncmy
import asyncpg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jobu.store.mysql import connect_kwargs
from jobu_handlers.pipeline import bulk_load
from jobu_handlers.pipeline.errors import (
    ColumnError,
    EmptyInputError,
    InputNotFoundError,
    InvalidParamsError,
    LoadError,
    MalformedInputError,
    TargetTableError,
)
from tests.support.pipeline import run_step

# files under tmp_path, the sales tables (tests/conftest.py: data_access)
pytestmark = pytest.mark.usefixtures("data_access")

TRICKY_TEXT = [
    "plain",
    'with "quotes", commas',
    "new\nline and tab\t",
    "back\\slash \\N",
    "NULL",
    "",
    None,
    "ünï ✓",
]

CREATE = {
    "postgres": """CREATE TABLE {table} (
        id BIGINT PRIMARY KEY, label TEXT, amount NUMERIC(12, 2), ratio DOUBLE PRECISION,
        flag BOOLEAN, day DATE, at TIMESTAMP, at_utc TIMESTAMPTZ, short VARCHAR(5),
        extra TEXT DEFAULT 'dflt')""",
    "mysql": """CREATE TABLE {table} (
        id BIGINT PRIMARY KEY, label TEXT, amount DECIMAL(12, 2), ratio DOUBLE,
        flag BOOLEAN, day DATE, at DATETIME(6), at_utc DATETIME(6), short VARCHAR(5),
        extra VARCHAR(10) DEFAULT 'dflt') ENGINE=InnoDB""",
}


def sample_table(n: int = len(TRICKY_TEXT)) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(1, n + 1), pa.int64()),
            "label": pa.array([TRICKY_TEXT[i % len(TRICKY_TEXT)] for i in range(n)], pa.string()),
            "amount": pa.array([Decimal(i) / 4 if i % 3 else None for i in range(n)], pa.decimal128(12, 2)),
            "ratio": pa.array([i / 3 for i in range(n)], pa.float64()),
            "flag": pa.array([i % 2 == 0 if i % 5 else None for i in range(n)], pa.bool_()),
            "day": pa.array([date(2026, 1, 1 + i % 28) for i in range(n)], pa.date32()),
            "at": pa.array([datetime(2026, 1, 2, 3, 4, 5, 678900 + i) for i in range(n)], pa.timestamp("us")),
            "at_utc": pa.array(
                [datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC) for _ in range(n)], pa.timestamp("us", tz="UTC")
            ),
            "short": pa.array(["abcde"] * n, pa.string()),
        }
    )


def parquet_file(path: Path, table: pa.Table) -> Path:
    pq.write_table(table, path)
    return path


class Db:
    """Just enough of a client to set up tables and read them back, per backend."""

    def __init__(self, backend: str, url: str) -> None:
        self.backend = backend
        self.url = url

    async def execute(self, sql: str) -> None:
        if self.backend == "postgres":
            conn = await asyncpg.connect(self.url)
            try:
                await conn.execute(sql)
            finally:
                await conn.close()
        else:
            mconn = await asyncmy.connect(**connect_kwargs(self.url), autocommit=True)
            try:
                async with mconn.cursor() as cursor:
                    await cursor.execute(sql)
            finally:
                mconn.close()

    async def rows(self, sql: str) -> list[tuple[Any, ...]]:
        if self.backend == "postgres":
            conn = await asyncpg.connect(self.url)
            try:
                return [tuple(row) for row in await conn.fetch(sql)]
            finally:
                await conn.close()
        mconn = await asyncmy.connect(**connect_kwargs(self.url), autocommit=True)
        try:
            async with mconn.cursor() as cursor:
                await cursor.execute("SET time_zone = '+00:00'")
                await cursor.execute(sql)
                return [tuple(row) for row in await cursor.fetchall()]
        finally:
            mconn.close()

    async def count(self, table: str = "sales") -> int:
        return int((await self.rows(f"SELECT COUNT(*) FROM {table}"))[0][0])

    async def create_sales(self, table: str = "sales") -> None:
        await self.execute(CREATE[self.backend].format(table=table))


@pytest.fixture(params=["postgres", "mysql"])
def db(request: pytest.FixtureRequest) -> Db:
    url = request.getfixturevalue(f"{request.param}_url")
    return Db(request.param, url)


async def load(db: Db, source: Path, **params: Any) -> Any:
    return await run_step(
        "db_loader", {"input_path": str(source), "table": "sales", **params}, database_url=db.url
    )


async def test_loads_every_row_and_value(db: Db, tmp_path: Path) -> None:
    await db.create_sales()
    table = sample_table()
    source = parquet_file(tmp_path / "sales.parquet", table)

    result = await load(db, source)

    data = result.model_dump()
    assert (data["rows_loaded"], data["backend"], data["table"]) == (8, db.backend, "sales")
    assert data["method"] == ("copy_binary" if db.backend == "postgres" else "load_data")
    assert result.count == 8
    got = await db.rows(
        "SELECT id, label, amount, ratio, flag, day, at, at_utc, short, extra FROM sales ORDER BY id"
    )
    expected = table.to_pylist()
    assert [row[1] for row in got] == TRICKY_TEXT
    for row, want in zip(got, expected, strict=True):
        assert row[2] == want["amount"]
        assert row[3] == pytest.approx(want["ratio"])
        assert (None if row[4] is None else bool(row[4])) == want["flag"]
        assert row[5] == want["day"]
        assert row[6] == want["at"]
        assert row[7].replace(tzinfo=UTC) == want["at_utc"]
        assert row[9] == "dflt"  # columns not in the file get their default


async def test_many_batches_and_column_subset(
    db: Db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk_load, "_BATCH_ROWS", 3)
    await db.create_sales()
    source = parquet_file(tmp_path / "sales.parquet", sample_table(20))

    result = await load(db, source, columns=["id", "label"])

    assert result.count == 20
    assert await db.rows("SELECT COUNT(*), COUNT(amount) FROM sales") == [(20, 0)]


async def test_replace_mode_swaps_the_rows_in_one_transaction(db: Db, tmp_path: Path) -> None:
    await db.create_sales()
    await db.execute("INSERT INTO sales (id, label) VALUES (100, 'old'), (101, 'old')")
    source = parquet_file(tmp_path / "sales.parquet", sample_table(3))

    result = await load(db, source, mode="replace")

    assert (result.model_dump()["rows_deleted"], result.count) == (2, 3)
    assert await db.rows("SELECT id FROM sales ORDER BY id") == [(1,), (2,), (3,)]


async def test_target_defaults_to_the_job_store_database(db: Db, tmp_path: Path) -> None:
    await db.create_sales()
    source = parquet_file(tmp_path / "sales.parquet", sample_table(2))

    result = await run_step("db_loader", {"input_path": str(source), "table": "sales"}, database_url=db.url)

    assert result.count == 2
    assert await db.count() == 2


async def test_schema_qualified_table(db: Db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    schema = "staging" if db.backend == "postgres" else urlsplit(db.url).path.lstrip("/")
    monkeypatch.setenv("JOBU_LOAD_TABLES", f"jobstore:{schema}.sales")
    if db.backend == "postgres":
        await db.execute("CREATE SCHEMA staging")
    await db.create_sales(f"{schema}.sales")
    source = parquet_file(tmp_path / "sales.parquet", sample_table(2))

    result = await run_step(
        "db_loader", {"input_path": str(source), "table": f"{schema}.sales"}, database_url=db.url
    )

    assert result.count == 2
    assert await db.count(f"{schema}.sales") == 2


# Bad input: a message naming the problem, and nothing loaded (rows already there stay as they were).


async def _assert_untouched(db: Db) -> None:
    assert await db.rows("SELECT id, label FROM sales") == [(100, "kept")]


async def test_missing_table(db: Db, tmp_path: Path) -> None:
    source = parquet_file(tmp_path / "sales.parquet", sample_table(2))

    with pytest.raises(TargetTableError, match="table sales does not exist"):
        await load(db, source)


async def test_table_without_a_column_of_the_file(db: Db, tmp_path: Path) -> None:
    await db.execute("CREATE TABLE sales (id BIGINT PRIMARY KEY, label TEXT)")
    await db.execute("INSERT INTO sales VALUES (100, 'kept')")
    source = parquet_file(tmp_path / "sales.parquet", sample_table(2))

    with pytest.raises(TargetTableError, match=r"table sales has no column\(s\) amount, ratio, flag"):
        await load(db, source)

    await _assert_untouched(db)


@pytest.mark.parametrize(
    ("column", "values", "message"),
    [
        (
            "id",
            ["5", "six"],
            {"postgres": 'invalid input syntax for type bigint: "six"', "mysql": "Incorrect integer"},
        ),
        ("id", [7, 7], {"postgres": "duplicate key value", "mysql": "Duplicate entry '7'"}),
        ("id", [100, 8], {"postgres": "duplicate key value", "mysql": "Duplicate entry '100'"}),
        (
            "short",
            ["ok", "far too long"],
            {"postgres": "value too long", "mysql": "Data truncated for column 'short' at row 2"},
        ),
        (
            "day",
            ["2026-01-01", "not a day"],
            {"postgres": "invalid input syntax for type date", "mysql": "for column 'day' at row 2"},
        ),
    ],
    ids=["text-into-bigint", "duplicate-in-file", "duplicate-in-table", "too-long", "bad-date"],
)
async def test_rows_the_database_refuses_load_nothing(
    db: Db, tmp_path: Path, column: str, values: list[Any], message: dict[str, str]
) -> None:
    await db.create_sales()
    await db.execute("INSERT INTO sales (id, label) VALUES (100, 'kept')")
    table = sample_table(2).drop_columns(["id"]).append_column("id", pa.array([1, 2], pa.int64()))
    table = table.drop_columns([column]).append_column(column, pa.array(values))
    source = parquet_file(tmp_path / "sales.parquet", table)

    with pytest.raises(LoadError) as raised:
        await load(db, source)

    assert "loading into sales failed, nothing was loaded" in str(raised.value)
    assert message[db.backend] in str(raised.value)
    await _assert_untouched(db)


async def test_failed_replace_keeps_the_old_rows(db: Db, tmp_path: Path) -> None:
    await db.create_sales()
    await db.execute("INSERT INTO sales (id, label) VALUES (100, 'kept')")
    table = sample_table(2).drop_columns(["short"]).append_column("short", pa.array(["ok", "far too long"]))
    source = parquet_file(tmp_path / "sales.parquet", table)

    with pytest.raises(LoadError):
        await load(db, source, mode="replace")

    await _assert_untouched(db)


@pytest.mark.parametrize(
    ("content", "error", "message"),
    [
        (None, InputNotFoundError, "input file not found"),
        (b"", EmptyInputError, "input file is empty"),
        (b"this is not parquet", MalformedInputError, "input is not a readable Parquet file"),
    ],
    ids=["missing", "empty", "corrupt"],
)
async def test_unreadable_input_loads_nothing(
    db: Db, tmp_path: Path, content: bytes | None, error: type[Exception], message: str
) -> None:
    await db.create_sales()
    await db.execute("INSERT INTO sales (id, label) VALUES (100, 'kept')")
    source = tmp_path / "sales.parquet"
    if content is not None:
        source.write_bytes(content)

    with pytest.raises(error, match=message):
        await load(db, source)

    await _assert_untouched(db)


async def test_zero_rows_fail_unless_allowed(db: Db, tmp_path: Path) -> None:
    await db.create_sales()
    source = parquet_file(tmp_path / "sales.parquet", sample_table(0))

    with pytest.raises(EmptyInputError, match="input has no rows"):
        await load(db, source)
    result = await load(db, source, allow_empty=True)

    assert result.count == 0


async def test_unknown_file_column_in_params(db: Db, tmp_path: Path) -> None:
    await db.create_sales()
    source = parquet_file(tmp_path / "sales.parquet", sample_table(2))

    with pytest.raises(ColumnError, match=r"columns not in .*sales\.parquet: nope"):
        await load(db, source, columns=["id", "nope"])


@pytest.mark.parametrize("table", ['sales"; DROP TABLE x; --', "a.b.c", "1sales", "sales`"])
async def test_table_names_are_identifiers_only(db: Db, tmp_path: Path, table: str) -> None:
    source = parquet_file(tmp_path / "sales.parquet", sample_table(2))

    with pytest.raises(InvalidParamsError, match=r"table must be 'name' or 'schema\.name'"):
        await run_step("db_loader", {"input_path": str(source), "table": table}, database_url=db.url)


# MySQL specifics


async def test_mysql_multi_row_insert_method(mysql_url: str, tmp_path: Path) -> None:
    db = Db("mysql", mysql_url)
    await db.create_sales()
    source = parquet_file(tmp_path / "sales.parquet", sample_table())

    result = await load(db, source, mysql_method="insert")

    assert result.model_dump()["method"] == "insert"
    assert [row[0] for row in await db.rows("SELECT label FROM sales ORDER BY id")] == TRICKY_TEXT


async def test_mysql_insert_method_is_all_or_nothing(mysql_url: str, tmp_path: Path) -> None:
    db = Db("mysql", mysql_url)
    await db.create_sales()
    await db.execute("INSERT INTO sales (id, label) VALUES (100, 'kept')")
    table = sample_table(2).drop_columns(["short"]).append_column("short", pa.array(["ok", "far too long"]))
    source = parquet_file(tmp_path / "sales.parquet", table)

    with pytest.raises(LoadError, match="Data too long for column"):
        await load(db, source, mysql_method="insert")

    await _assert_untouched(db)


async def test_mysql_table_that_cannot_roll_back_is_refused(mysql_url: str, tmp_path: Path) -> None:
    db = Db("mysql", mysql_url)
    await db.execute("CREATE TABLE sales (id BIGINT PRIMARY KEY, label TEXT) ENGINE=MyISAM")
    source = parquet_file(tmp_path / "sales.parquet", sample_table(2).select(["id", "label"]))

    with pytest.raises(TargetTableError, match="uses the MyISAM engine, which cannot roll back"):
        await load(db, source)

    assert await db.count() == 0
