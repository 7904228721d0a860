"""pandas_preprocess on files the tests write: cleaning, results, S3, and every bad input."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest

from jobu_handlers.pipeline.errors import (
    ColumnError,
    EmptyInputError,
    InputNotFoundError,
    InvalidParamsError,
    MalformedInputError,
)
from tests.support.pipeline import run_step

# files under tmp_path, the test buckets and tables (tests/conftest.py: data_access)
pytestmark = pytest.mark.usefixtures("data_access")

SALES_CSV = """order_id,customer,amount,currency,ordered_at,note
1,alice,10.50,EUR,2026-01-02T10:00:00,
2,bob,,USD,2026-01-02T11:00:00,gift
2,bob,,USD,2026-01-02T11:00:00,gift
3,,7.25,EUR,2026-01-03T09:30:00,
4,dave,99.99,GBP,2026-01-04T00:00:00,rush
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def read_rows(path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = pq.read_table(path).to_pylist()
    return rows


def leftovers(directory: Path) -> list[str]:
    """Files in `directory` other than the test's own inputs (staging files, partial outputs)."""
    return sorted(p.name for p in directory.iterdir() if not p.name.startswith("input"))


async def test_cleans_and_reports(tmp_path: Path) -> None:
    source = write(tmp_path / "input.csv", SALES_CSV)
    target = tmp_path / "out" / "sales.parquet"

    result = await run_step(
        "pandas_preprocess",
        {
            "input_path": str(source),
            "output_path": str(target),
            "dtypes": {"order_id": "int64", "amount": "float64", "ordered_at": "datetime", "note": "string"},
            "fill_nulls": {"amount": 0},
            "drop_nulls": ["customer"],
            "drop_duplicates": True,
            "rename": {"ordered_at": "ordered"},
        },
    )

    rows = read_rows(target)
    assert [row["order_id"] for row in rows] == [1, 2, 4]
    assert rows[1] == {
        "order_id": 2,
        "customer": "bob",
        "amount": 0.0,
        "currency": "USD",
        "ordered": datetime(2026, 1, 2, 11, 0),
        "note": "gift",
    }
    assert rows[0]["note"] is None  # an empty field is a null, not ""
    data = result.model_dump()
    assert data["rows_in"] == 5
    assert data["rows_out"] == 3
    assert data["null_rows_dropped"] == 1
    assert data["duplicates_dropped"] == 1
    assert data["bytes_read"] == len(SALES_CSV.encode())
    assert data["bytes_written"] == target.stat().st_size
    assert data["elapsed_seconds"] >= 0
    assert data["columns"] == ["order_id", "customer", "amount", "currency", "ordered", "note"]
    assert result.count == 3
    assert leftovers(target.parent) == ["sales.parquet"]


async def test_subset_dedupe_keeps_last_and_selects_columns(tmp_path: Path) -> None:
    source = write(tmp_path / "input.csv", "id,v,extra\n1,a,x\n1,b,y\n2,c,z\n")
    target = tmp_path / "out.parquet"

    await run_step(
        "pandas_preprocess",
        {
            "input_path": str(source),
            "output_path": str(target),
            "columns": ["id", "v"],
            "drop_duplicates": ["id"],
            "keep": "last",
        },
    )

    assert read_rows(target) == [{"id": 1, "v": "b"}, {"id": 2, "v": "c"}]


async def test_dates_with_formats_and_custom_nulls(tmp_path: Path) -> None:
    source = write(tmp_path / "input.csv", "day;qty\n02/01/2026;3\n-;4\n")
    target = tmp_path / "out.parquet"

    await run_step(
        "pandas_preprocess",
        {
            "input_path": str(source),
            "output_path": str(target),
            "delimiter": ";",
            "dtypes": {"day": "date", "qty": "int32"},
            "datetime_formats": ["%d/%m/%Y"],
            "null_values": ["-"],
            "compression": "zstd",
        },
    )

    table = pq.read_table(target)
    assert str(table.schema.field("qty").type) == "int32"
    assert table.to_pylist() == [{"day": date(2026, 1, 2), "qty": 3}, {"day": None, "qty": 4}]


async def test_skips_malformed_rows_when_asked(tmp_path: Path) -> None:
    source = write(tmp_path / "input.csv", "a,b\n1,2\n3,4,5\n6,7\n")
    target = tmp_path / "out.parquet"

    result = await run_step(
        "pandas_preprocess", {"input_path": str(source), "output_path": str(target), "on_bad_lines": "skip"}
    )

    assert read_rows(target) == [{"a": 1, "b": 2}, {"a": 6, "b": 7}]
    assert result.model_dump()["rows_skipped"] == 1
    assert result.model_dump()["rows_in"] == 3


async def test_header_only_file_is_accepted_with_allow_empty(tmp_path: Path) -> None:
    source = write(tmp_path / "input.csv", "a,b\n")
    target = tmp_path / "out.parquet"

    result = await run_step(
        "pandas_preprocess",
        {
            "input_path": str(source),
            "output_path": str(target),
            "allow_empty": True,
            "dtypes": {"a": "int64"},
        },
    )

    assert result.count == 0
    assert pq.read_table(target).column_names == ["a", "b"]


# Bad input: each fails with a message naming the problem, and writes nothing.


@pytest.mark.parametrize(
    ("text", "params", "error", "message"),
    [
        ("", {}, EmptyInputError, "input file is empty (0 bytes)"),
        ("a,b\n", {}, EmptyInputError, "header but no data rows"),
        ("\n\n", {}, EmptyInputError, "no header row"),
        (
            "a,b,c\n1,2,3\n4,5,6,7\n8,9\n10,11,12\n",
            {},
            MalformedInputError,
            "2 row(s) do not have as many fields as the header",
        ),
        ("a,a\n1,2\n", {}, MalformedInputError, "repeats column(s): a"),
        (
            "id,amount\n1,2.5\n2,3.0\n3,abc\n",
            {"dtypes": {"amount": "float64"}},
            ColumnError,
            "column 'amount' is declared float64 but data row 3 has 'abc'",
        ),
        (
            "id,when\n1,2026-01-01T00:00:00\n2,yesterday\n",
            {"dtypes": {"when": "datetime"}},
            ColumnError,
            "column 'when' is declared datetime but data row 2 has 'yesterday'",
        ),
        (
            "id,day\n1,01/02/2026\n2,2026-02-01\n",
            {"dtypes": {"day": "date"}, "datetime_formats": ["%d/%m/%Y"]},
            ColumnError,
            "column 'day' is declared date but data row 2 has '2026-02-01'",
        ),
        (
            "id,name\n1,x\n",
            {"dtypes": {"nmae": "string"}, "rename": {"idd": "key"}},
            ColumnError,
            "params name columns that are not in the CSV (dtypes: nmae; rename: idd)",
        ),
        ("id,name\n1,x\n", {"rename": {"id": "name"}}, ColumnError, "several columns the name(s): name"),
        (
            "id,n\n1,\n",
            {"dtypes": {"n": "int64"}, "fill_nulls": {"n": "many"}},
            ColumnError,
            "fill_nulls value 'many' does not fit column 'n'",
        ),
        (b"id,name\n1,caf\xe9\n", {}, MalformedInputError, "cannot read CSV"),
    ],
    ids=[
        "empty-file",
        "header-only",
        "no-header",
        "malformed-rows",
        "repeated-column",
        "wrong-float",
        "wrong-datetime",
        "wrong-date-format",
        "unknown-columns",
        "rename-clash",
        "bad-fill-value",
        "not-utf8",
    ],
)
async def test_bad_input_fails_and_writes_nothing(
    tmp_path: Path, text: str | bytes, params: dict[str, Any], error: type[Exception], message: str
) -> None:
    source = tmp_path / "input.csv"
    if isinstance(text, bytes):
        source.write_bytes(text)
    else:
        source.write_text(text)
    target = tmp_path / "out.parquet"

    with pytest.raises(error) as raised:
        await run_step("pandas_preprocess", {"input_path": str(source), "output_path": str(target), **params})

    assert message in str(raised.value)
    assert str(source) in str(raised.value) or "column" in str(raised.value)
    assert leftovers(tmp_path) == []


async def test_malformed_rows_are_listed_with_line_numbers(tmp_path: Path) -> None:
    source = write(tmp_path / "input.csv", "a,b,c\n1,2,3\n4,5,6,7\n8,9\n")

    with pytest.raises(MalformedInputError) as raised:
        await run_step(
            "pandas_preprocess", {"input_path": str(source), "output_path": str(tmp_path / "o.parquet")}
        )

    assert "line 3: 4 fields, expected 3 ('4,5,6,7')" in str(raised.value)
    assert "line 4: 2 fields, expected 3 ('8,9')" in str(raised.value)


async def test_missing_input_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"

    with pytest.raises(InputNotFoundError, match=r"input file not found: .*nope\.csv"):
        await run_step(
            "pandas_preprocess", {"input_path": str(missing), "output_path": str(tmp_path / "o.parquet")}
        )

    assert leftovers(tmp_path) == []


async def test_failure_keeps_the_previous_output(tmp_path: Path) -> None:
    target = tmp_path / "out.parquet"
    await run_step(
        "pandas_preprocess",
        {"input_path": str(write(tmp_path / "input1.csv", "a\n1\n")), "output_path": str(target)},
    )
    before = target.read_bytes()

    with pytest.raises(ColumnError):
        await run_step(
            "pandas_preprocess",
            {
                "input_path": str(write(tmp_path / "input2.csv", "a\nx\n")),
                "output_path": str(target),
                "dtypes": {"a": "int64"},
            },
        )

    assert target.read_bytes() == before
    assert leftovers(tmp_path) == ["out.parquet"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"output_path": "o.parquet"}, "input_path: Field required"),
        (
            {"input_path": "a.csv", "output_path": "o.parquet", "dtypes": {"a": "integer"}},
            "dtypes.a: Input should be",
        ),
        (
            {"input_path": "a.csv", "output_path": "o.parquet", "dropduplicates": True},
            "dropduplicates: Extra inputs",
        ),
        ({"input_path": "a.csv", "output_path": "a.csv"}, "output_path must differ from input_path"),
        (
            {"input_path": "a.csv", "output_path": "o.parquet", "delimiter": ";;"},
            "delimiter: String should have at most",
        ),
    ],
)
async def test_bad_params_are_named(params: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidParamsError, match="invalid params for pandas_preprocess") as raised:
        await run_step("pandas_preprocess", params)

    assert message in str(raised.value)


async def test_on_success_is_accepted_and_ignored(tmp_path: Path) -> None:
    source = write(tmp_path / "input.csv", "a\n1\n")
    next_step = {"handler_name": "pydantic_validator", "params": {"input_path": "x"}}

    result = await run_step(
        "pandas_preprocess",
        {"input_path": str(source), "output_path": str(tmp_path / "o.parquet"), "on_success": next_step},
    )

    assert result.count == 1


# S3 through moto


async def test_s3_to_s3(s3_bucket: str, tmp_path: Path) -> None:
    s3 = boto3.client("s3")
    s3.put_object(Bucket=s3_bucket, Key="raw/sales.csv", Body=SALES_CSV.encode())

    result = await run_step(
        "pandas_preprocess",
        {
            "input_path": f"s3://{s3_bucket}/raw/sales.csv",
            "output_path": f"s3://{s3_bucket}/clean/sales.parquet",
            "drop_duplicates": True,
        },
    )

    s3.download_file(s3_bucket, "clean/sales.parquet", str(tmp_path / "got.parquet"))
    assert len(read_rows(tmp_path / "got.parquet")) == 4
    assert result.model_dump()["bytes_written"] == (tmp_path / "got.parquet").stat().st_size
    assert result.model_dump()["bytes_read"] == len(SALES_CSV.encode())


async def test_missing_s3_object(s3_bucket: str) -> None:
    with pytest.raises(InputNotFoundError, match=r"input object not found: s3://pipeline/raw/none.csv"):
        await run_step(
            "pandas_preprocess",
            {"input_path": f"s3://{s3_bucket}/raw/none.csv", "output_path": f"s3://{s3_bucket}/o.parquet"},
        )


async def test_s3_failure_writes_no_object(s3_bucket: str) -> None:
    s3 = boto3.client("s3")
    s3.put_object(Bucket=s3_bucket, Key="raw/bad.csv", Body=b"a,b\n1,2\n3\n")

    with pytest.raises(MalformedInputError):
        await run_step(
            "pandas_preprocess",
            {
                "input_path": f"s3://{s3_bucket}/raw/bad.csv",
                "output_path": f"s3://{s3_bucket}/clean/bad.parquet",
            },
        )

    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=s3_bucket).get("Contents", [])]
    assert keys == ["raw/bad.csv"]
