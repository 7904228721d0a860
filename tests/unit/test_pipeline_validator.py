"""pydantic_validator: valid and rejected rows, Parquet and CSV, S3, and bad input."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from pydantic import BaseModel

from jobu_handlers.pipeline import validation_model, validation_model_names
from jobu_handlers.pipeline.errors import (
    EmptyInputError,
    InputNotFoundError,
    MalformedInputError,
    PipelineError,
    RejectedRowsError,
)
from jobu_handlers.pipeline.models import get_validation_model
from jobu_handlers.pipeline.row_validation import arrow_schema
from tests.support.pipeline import run_step

# files under tmp_path, the test buckets and tables (tests/conftest.py: data_access)
pytestmark = pytest.mark.usefixtures("data_access")


def sale(order_id: int, customer: str, amount: float, currency: str, ordered_at: datetime) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "customer": customer,
        "amount": amount,
        "currency": currency,
        "ordered_at": ordered_at,
    }


ROWS = [
    sale(1, "alice", 10.5, "EUR", datetime(2026, 1, 2, 10)),
    sale(-2, "bob", 3.0, "USD", datetime(2026, 1, 2, 11)),
    sale(3, "carol", 7.25, "euro", datetime(2026, 1, 3)),
    sale(4, "dave", 99.99, "GBP", datetime(2026, 1, 4)),
]


def parquet_file(path: Path, rows: list[dict[str, Any]]) -> Path:
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def params(source: Path, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {
        "input_path": str(source),
        "model": "sale",
        "valid_output_path": str(tmp_path / "out" / "valid.parquet"),
        "rejected_output_path": str(tmp_path / "out" / "rejected.parquet"),
        **extra,
    }


async def test_splits_valid_and_rejected_rows(tmp_path: Path) -> None:
    source = parquet_file(tmp_path / "input.parquet", ROWS)

    result = await run_step("pydantic_validator", params(source, tmp_path))

    valid = pq.read_table(tmp_path / "out" / "valid.parquet")
    assert valid.column_names == ["order_id", "customer", "amount", "currency", "ordered_at", "note"]
    assert str(valid.schema.field("amount").type) == "decimal128(12, 2)"
    assert [row["order_id"] for row in valid.to_pylist()] == [1, 4]
    assert valid.to_pylist()[0]["amount"] == Decimal("10.50")
    rejected = pq.read_table(tmp_path / "out" / "rejected.parquet").to_pylist()
    assert [(row["order_id"], row["_row_number"]) for row in rejected] == [(-2, 2), (3, 3)]
    assert "order_id=-2: Input should be greater than 0" in rejected[0]["_errors"]
    assert "currency='euro': String should match pattern" in rejected[1]["_errors"]
    data = result.model_dump()
    assert (data["rows_in"], data["rows_valid"], data["rows_rejected"]) == (4, 2, 2)
    assert result.count == 2
    assert data["bytes_read"] == source.stat().st_size
    assert data["bytes_written"] == sum(p.stat().st_size for p in (tmp_path / "out").iterdir())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["rejected.parquet", "valid.parquet"]


async def test_csv_input_and_csv_outputs(tmp_path: Path) -> None:
    source = tmp_path / "input.csv"
    source.write_text(
        "order_id,customer,amount,currency,ordered_at,unused\n"
        "007,  alice ,10.50,EUR,2026-01-02T10:00:00+02:00,x\n"
        "8,bob,abc,USD,2026-01-02T11:00:00,y\n"
    )

    result = await run_step(
        "pydantic_validator",
        params(
            source,
            tmp_path,
            valid_output_path=str(tmp_path / "valid.csv"),
            rejected_output_path=str(tmp_path / "rejected.csv"),
        ),
    )

    valid = pacsv.read_csv(tmp_path / "valid.csv").to_pylist()
    # text became typed values; the +02:00 time is stored as UTC; extra input columns are dropped
    assert valid[0]["order_id"] == 7
    assert valid[0]["customer"] == "alice"
    assert str(valid[0]["ordered_at"]) == "2026-01-02 08:00:00"
    assert "unused" not in valid[0]
    rejected = pacsv.read_csv(tmp_path / "rejected.csv").to_pylist()
    assert rejected[0]["amount"] == "abc"  # the rejected row as it was read
    assert "amount='abc': Input should be a valid decimal" in rejected[0]["_errors"]
    assert result.model_dump()["rows_rejected"] == 1


async def test_too_many_rejects_fails_and_writes_nothing(tmp_path: Path) -> None:
    source = parquet_file(tmp_path / "input.parquet", ROWS)

    with pytest.raises(RejectedRowsError) as raised:
        await run_step("pydantic_validator", params(source, tmp_path, max_rejected_fraction=0.25))

    message = str(raised.value)
    assert "2 of 4 rows failed validation against model 'sale'" in message
    assert "row 2: order_id=-2: Input should be greater than 0" in message
    assert list((tmp_path / "out").iterdir()) == []


async def test_all_valid_rows_give_an_empty_rejected_file(tmp_path: Path) -> None:
    source = parquet_file(tmp_path / "input.parquet", [ROWS[0]])

    result = await run_step("pydantic_validator", params(source, tmp_path, max_rejected_fraction=0))

    assert result.model_dump()["rows_rejected"] == 0
    assert pq.read_table(tmp_path / "out" / "rejected.parquet").num_rows == 0


async def test_unknown_model_names_the_known_ones(tmp_path: Path) -> None:
    source = parquet_file(tmp_path / "input.parquet", ROWS)

    with pytest.raises(PipelineError, match=r"no validation model is registered as 'sales' \(known: .*sale"):
        await run_step("pydantic_validator", params(source, tmp_path, model="sales"))


@pytest.mark.parametrize(
    ("content", "error", "message"),
    [
        (None, InputNotFoundError, "input file not found"),
        (b"", EmptyInputError, "input file is empty"),
        (b"PAR1 not really parquet", MalformedInputError, "cannot read"),
    ],
    ids=["missing", "empty", "corrupt"],
)
async def test_bad_input_writes_nothing(
    tmp_path: Path, content: bytes | None, error: type[Exception], message: str
) -> None:
    source = tmp_path / "input.parquet"
    if content is not None:
        source.write_bytes(content)

    with pytest.raises(error, match=message):
        await run_step("pydantic_validator", params(source, tmp_path))

    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


async def test_no_rows_fails_unless_allowed(tmp_path: Path) -> None:
    source = tmp_path / "input.parquet"
    pq.write_table(pa.table({"order_id": pa.array([], pa.int64())}), source)

    with pytest.raises(EmptyInputError, match="input has no data rows"):
        await run_step("pydantic_validator", params(source, tmp_path))
    result = await run_step("pydantic_validator", params(source, tmp_path, allow_empty=True))

    assert result.count == 0


async def test_identical_paths_are_refused(tmp_path: Path) -> None:
    source = parquet_file(tmp_path / "input.parquet", ROWS)

    with pytest.raises(PipelineError, match="must all differ"):
        await run_step("pydantic_validator", params(source, tmp_path, valid_output_path=str(source)))


def test_every_registered_model_has_a_parquet_schema() -> None:
    for name in validation_model_names():
        assert len(arrow_schema(get_validation_model(name))) > 0


def test_a_model_with_an_unmappable_field_is_named() -> None:
    class Odd(BaseModel):
        tags: list[str]

    with pytest.raises(PipelineError, match="validation model Odd field 'tags'"):
        arrow_schema(Odd)


def test_registering_two_models_under_one_name_is_refused() -> None:
    with pytest.raises(ValueError, match="registered twice"):

        @validation_model("sale")
        class OtherSale(BaseModel):
            order_id: int


async def test_s3_in_and_out(s3_bucket: str, tmp_path: Path) -> None:
    s3 = boto3.client("s3")
    s3.upload_file(str(parquet_file(tmp_path / "input.parquet", ROWS)), s3_bucket, "clean/sales.parquet")

    result = await run_step(
        "pydantic_validator",
        {
            "input_path": f"s3://{s3_bucket}/clean/sales.parquet",
            "model": "sale",
            "valid_output_path": f"s3://{s3_bucket}/valid/sales.parquet",
            "rejected_output_path": f"s3://{s3_bucket}/rejected/sales.parquet",
        },
    )

    assert result.model_dump()["rows_valid"] == 2
    keys = sorted(item["Key"] for item in s3.list_objects_v2(Bucket=s3_bucket)["Contents"])
    assert keys == ["clean/sales.parquet", "rejected/sales.parquet", "valid/sales.parquet"]


async def test_s3_output_failure_retracts_the_first_output(s3_bucket: str, tmp_path: Path) -> None:
    s3 = boto3.client("s3")
    s3.upload_file(str(parquet_file(tmp_path / "input.parquet", ROWS)), s3_bucket, "in.parquet")

    with pytest.raises(PipelineError, match=r"cannot write s3://no-such-bucket/rejected\.parquet"):
        await run_step(
            "pydantic_validator",
            {
                "input_path": f"s3://{s3_bucket}/in.parquet",
                "model": "sale",
                "valid_output_path": f"s3://{s3_bucket}/valid.parquet",
                "rejected_output_path": "s3://no-such-bucket/rejected.parquet",
            },
        )

    keys = sorted(item["Key"] for item in s3.list_objects_v2(Bucket=s3_bucket)["Contents"])
    assert keys == ["in.parquet"]
