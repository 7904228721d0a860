"""The pipeline end to end: one Kafka record -> queue dispatcher -> worker -> three chained runs.

events/queue_dispatcher_pipeline.json is the MSK event; its one record asks for
pandas_preprocess with an on_success chain to pydantic_validator and then db_loader. Everything
goes through the real entry points on moto (SQS and S3) and each backend's real database, which
is also the loader's target (db_loader's default).
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import boto3
import pyarrow.csv as pacsv
import pytest

from jobu.models import Execution
from tests.conftest import load_event
from tests.support.harness import Harness

EVENT = "queue_dispatcher_pipeline.json"
BUCKET = "jobu-pipeline-demo"
RAW_CSV = """order_id,customer,amount,currency,ordered_at,note
1,alice,10.50,EUR,2026-01-02T10:00:00,
2,bob,3.00,USD,2026-01-02T11:00:00,gift
2,bob,3.00,USD,2026-01-02T11:00:00,gift
3,carol,-7.25,EUR,2026-01-03T09:30:00,
,nobody,1.00,EUR,2026-01-03T09:31:00,
4,dave,99.99,gbp,2026-01-04T00:00:00,rush
5,erin,0.99,EUR,2026-01-05T00:00:00,
"""
SALES_TABLE = {
    "postgres": """CREATE TABLE sales (order_id BIGINT PRIMARY KEY, customer VARCHAR(100) NOT NULL,
        amount NUMERIC(12, 2) NOT NULL, currency CHAR(3) NOT NULL, ordered_at TIMESTAMP NOT NULL,
        note TEXT)""",
    "mysql": """CREATE TABLE sales (order_id BIGINT PRIMARY KEY, customer VARCHAR(100) NOT NULL,
        amount DECIMAL(12, 2) NOT NULL, currency CHAR(3) NOT NULL, ordered_at DATETIME(6) NOT NULL,
        note TEXT) ENGINE=InnoDB""",
    "sqlite": """CREATE TABLE sales (order_id INTEGER PRIMARY KEY, customer TEXT NOT NULL,
        amount TEXT NOT NULL, currency TEXT NOT NULL, ordered_at TEXT NOT NULL, note TEXT)""",
}


def chain_message() -> dict[str, Any]:
    (record,) = load_event(EVENT)["records"]["jobu-events-0"]
    message: dict[str, Any] = json.loads(base64.b64decode(record["value"]))
    return message


async def _sql(store: Any, statement: str) -> list[Any]:
    connector = store.connector
    async with connector.connection() as conn:
        if connector.backend == "postgres":
            return [tuple(row) for row in await conn.fetch(statement)]
        if connector.backend == "mysql":
            async with conn.cursor() as cursor:
                await cursor.execute(statement)
                return [tuple(row) for row in await cursor.fetchall()]
        cursor = await conn.execute(statement)
        return [tuple(row) for row in await cursor.fetchall()]


def sql(harness: Harness, statement: str) -> list[Any]:
    return harness.with_store(lambda store: _sql(store, statement))


def backend(harness: Harness) -> str:
    scheme = harness.database_url.split(":", 1)[0]
    return {"postgresql": "postgres"}.get(scheme, scheme)


@pytest.fixture
def s3(harness: Harness) -> Any:
    """The event's bucket (in the harness's moto), holding the raw export."""
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    client.put_object(Bucket=BUCKET, Key="raw/sales.csv", Body=RAW_CSV.encode())
    return client


def test_the_event_file_is_one_three_step_chain() -> None:
    message = chain_message()
    steps = []
    while message:
        steps.append(message["handler_name"])
        message = message["params"].get("on_success")
    assert steps == ["pandas_preprocess", "pydantic_validator", "db_loader"]


def test_one_record_runs_preprocess_validate_load(harness: Harness, s3: Any) -> None:
    sql(harness, SALES_TABLE[backend(harness)])

    report = harness.invoke_queue(load_event(EVENT))
    assert (len(report["dispatched"]), report["rejected"]) == (1, [])
    assert harness.drain_queue() == 3

    runs = harness.executions()
    assert [(run.handler_name, run.status) for run in runs] == [
        ("pandas_preprocess", "SUCCESS"),
        ("pydantic_validator", "SUCCESS"),
        ("db_loader", "SUCCESS"),
    ]
    assert [run.parent_execution_id for run in runs] == [None, runs[0].id, runs[1].id]
    assert runs[0].param_source == "event"
    preprocess, validate, load = (result(run) for run in runs)
    assert (preprocess["rows_in"], preprocess["rows_out"]) == (7, 5)  # one duplicate, one without an id
    assert (validate["rows_valid"], validate["rows_rejected"]) == (3, 2)
    assert (load["rows_loaded"], load["table"]) == (3, "sales")
    assert [row[0] for row in sql(harness, "SELECT order_id FROM sales ORDER BY order_id")] == [1, 2, 5]
    rejected = pacsv.read_csv(
        io.BytesIO(s3.get_object(Bucket=BUCKET, Key="rejected/sales.csv")["Body"].read())
    )
    assert rejected.column("order_id").to_pylist() == [3, 4]


def test_a_failed_step_ends_the_chain(harness: Harness, s3: Any) -> None:
    # no sales table: the loader fails with a message naming it, after the first two steps succeeded
    harness.invoke_queue(load_event(EVENT))
    harness.drain_queue()

    runs = harness.executions()
    assert [(run.handler_name, run.status) for run in runs] == [
        ("pandas_preprocess", "SUCCESS"),
        ("pydantic_validator", "SUCCESS"),
        ("db_loader", "FAILED"),
    ]
    assert "table sales does not exist" in (runs[2].error_message or "")


def test_a_bad_first_step_runs_nothing_after_it(harness: Harness, s3: Any) -> None:
    s3.delete_object(Bucket=BUCKET, Key="raw/sales.csv")

    harness.invoke_queue(load_event(EVENT))
    harness.drain_queue()

    (run,) = harness.executions()
    assert (run.handler_name, run.status) == ("pandas_preprocess", "FAILED")
    assert "input object not found: s3://jobu-pipeline-demo/raw/sales.csv" in (run.error_message or "")
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    assert keys == []


def result(run: Execution) -> dict[str, Any]:
    assert isinstance(run.result, dict)
    return run.result
