"""pipeline_fanout: every CSV of a folder converted in parallel as a batch, then joined and loaded
once every conversion succeeded, through the real worker, tick and batches on PostgreSQL, MariaDB and
SQLite (the loader's target is the job store's own database, db_loader's default)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from jobu.models import Execution
from jobu_handlers.pipeline import fanout as fanout_module
from tests.integration.test_pipeline_chain import SALES_TABLE, backend, sql
from tests.support.harness import Harness, work_message

HEADER = "order_id,customer,amount,currency,ordered_at,note\n"
FILES = {
    "a.csv": "1,alice,10.50,EUR,2026-01-02T10:00:00,\n2,bob,3.00,USD,2026-01-02T11:00:00,gift\n",
    "b.csv": "3,carol,7.25,EUR,2026-01-03T09:30:00,\n",
    "c.csv": "4,dave,99.99,GBP,2026-01-04T00:00:00,rush\n5,erin,0.99,EUR,2026-01-05T00:00:00,\n",
}
PARAMS = {
    "input_prefix": "in",
    "output_prefix": "out/parts",
    "combined_path": "out/sales.parquet",
    "table": "sales",
    "preprocess": {"dtypes": {"order_id": "int64", "amount": "string", "ordered_at": "datetime"}},
}


@pytest.fixture
def folder(harness: Harness, tmp_path: Path) -> Path:
    """The data root's `in` folder: three CSVs, and what the fan-out must leave alone."""
    sql(harness, SALES_TABLE[backend(harness)])
    root = tmp_path / "data" / "in"
    (root / "sub").mkdir(parents=True)
    for name, rows in FILES.items():
        (root / name).write_text(HEADER + rows)
    (root / "notes.txt").write_text("not a CSV")
    (root / "sub" / "d.csv").write_text(HEADER + "6,frank,1.00,EUR,2026-01-06T00:00:00,\n")  # a subfolder's
    (root / "link.csv").symlink_to(root / "a.csv")  # a link is not followed
    return root


def fan_out(harness: Harness, params: dict[str, Any]) -> Execution:
    run_id = harness.insert_event_run("pipeline_fanout", params)
    harness.invoke_worker([work_message(run_id)], pool="pipeline")
    found: Execution = harness.with_store(lambda store: store.runs.get(run_id))
    return found


def by_handler(harness: Harness) -> dict[str, list[Execution]]:
    found: dict[str, list[Execution]] = {}
    for run in harness.executions():
        found.setdefault(run.handler_name, []).append(run)
    return found


def send_and_run(harness: Harness) -> None:
    """The workers run everything: the batch's runs were sent as the fan-out's transaction committed
    (no sweeper pass)."""
    harness.drain_queue()


def test_every_csv_is_converted_then_all_are_joined_and_loaded_once(harness: Harness, folder: Path) -> None:
    fanout = fan_out(harness, PARAMS)
    assert fanout.status.value == "SUCCESS", fanout.error_message
    assert isinstance(fanout.result, dict)
    assert fanout.result["inputs"] == ["in/a.csv", "in/b.csv", "in/c.csv"]
    children = by_handler(harness)["pandas_preprocess"]
    assert sorted(run.params["input_path"] for run in children) == ["in/a.csv", "in/b.csv", "in/c.csv"]
    assert {run.params["output_path"] for run in children} == {f"out/parts/{n}.parquet" for n in "abc"}
    assert all(run.batch_id == fanout.result["batch_id"] and run.max_retry == 2 for run in children)
    # a second delivery of the fan-out's message makes no second batch (its claim lets one through)
    harness.invoke_worker([work_message(fanout.id)], pool="pipeline")
    assert len(by_handler(harness)["pandas_preprocess"]) == 3
    assert sql(harness, "SELECT COUNT(*) FROM sales") == [(0,)]  # nothing before every conversion
    # sent once the fan-out's transaction committed, not at the sweeper's next tick (up to a minute)
    assert all(run.queued_at is not None for run in by_handler(harness)["pandas_preprocess"])
    queued = [json.loads(message["Body"]) for message in harness.receive(pool="pipeline")]
    assert sorted(message["execution_id"] for message in queued) == sorted(run.id for run in children)

    send_and_run(harness)
    runs = by_handler(harness)
    assert [run.status.value for run in runs["pandas_preprocess"]] == ["SUCCESS"] * 3
    (join,) = runs["pipeline_join"]
    (load,) = runs["db_loader"]
    assert (join.status.value, load.status.value) == ("SUCCESS", "SUCCESS")
    assert join.params["batch"]["succeeded"] == 3
    assert load.parent_execution_id == join.id
    assert [row[0] for row in sql(harness, "SELECT order_id FROM sales ORDER BY order_id")] == [1, 2, 3, 4, 5]
    assert (folder.parent / "out" / "sales.parquet").is_file()


def test_a_fan_out_that_fails_after_writing_its_batch_sends_nothing(
    harness: Harness, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its batch is rolled back with its run: no run of it exists, and no message names one."""

    def broken(**_: Any) -> None:
        raise RuntimeError("the fan-out breaks after its batch was written")

    monkeypatch.setattr(fanout_module, "HandlerResult", broken)
    fanout = fan_out(harness, PARAMS)
    assert fanout.status.value == "FAILED"
    assert "breaks after its batch was written" in (fanout.error_message or "")
    assert [run.handler_name for run in harness.executions()] == ["pipeline_fanout"]
    assert harness.with_store(lambda store: store.batches.count(status=None)) == 0
    assert harness.receive(pool="pipeline") == []


def test_a_failed_conversion_joins_and_loads_nothing(harness: Harness, folder: Path) -> None:
    (folder / "b.csv").write_text(HEADER + "not a number,carol,7.25,EUR,2026-01-03T09:30:00,\n")
    fanout = fan_out(harness, {**PARAMS, "child_max_retry": 0})  # no retries: it fails for good
    assert fanout.status.value == "SUCCESS", fanout.error_message
    send_and_run(harness)
    runs = by_handler(harness)
    statuses = {run.params["input_path"]: run.status.value for run in runs["pandas_preprocess"]}
    assert statuses == {"in/a.csv": "SUCCESS", "in/b.csv": "FAILED", "in/c.csv": "SUCCESS"}
    assert "pipeline_join" not in runs
    assert "db_loader" not in runs
    assert sql(harness, "SELECT COUNT(*) FROM sales") == [(0,)]


@pytest.mark.parametrize(
    ("changed", "reason"),
    [
        ({"input_prefix": "../outside"}, "local path refused: '../outside' is outside the data root"),
        ({"output_prefix": "/etc"}, "local path refused: '/etc/a.parquet' is outside the data root"),
        ({"combined_path": "../all.parquet"}, "local path refused: '../all.parquet'"),
        ({"table": "job_executions"}, "table refused: 'job_executions' is one of the job store's own tables"),
        ({"table": "orders"}, "table refused: 'orders' on database 'jobstore' is not in JOBU_LOAD_TABLES"),
        ({"input_prefix": "missing"}, "input folder not found: missing"),
        ({"max_inputs": 2}, "3 CSV files in in, more than max_inputs (2)"),
        ({"preprocess": {"dtypes": {"order_id": "int64"}, "on_success": {"handler_name": "sample"}}}, None),
    ],
)
def test_a_path_or_table_the_operators_did_not_allow_makes_nothing(
    harness: Harness, folder: Path, changed: dict[str, Any], reason: str | None
) -> None:
    fanout = fan_out(harness, {**PARAMS, **changed})
    if reason is None:  # a conversion's next step is the batch's: a link in preprocess is not passed on
        assert fanout.status.value == "SUCCESS", fanout.error_message
        assert all("on_success" not in run.params for run in by_handler(harness)["pandas_preprocess"])
        return
    assert fanout.status.value == "FAILED"
    assert reason in (fanout.error_message or ""), fanout.error_message
    assert [run.handler_name for run in harness.executions()] == ["pipeline_fanout"]
    assert harness.with_store(lambda store: store.batches.count(status=None)) == 0


def test_an_s3_prefix_fans_out_the_same(harness: Harness) -> None:
    sql(harness, SALES_TABLE[backend(harness)])
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="pipeline")
    for name, rows in FILES.items():
        s3.put_object(Bucket="pipeline", Key=f"raw/day/{name}", Body=(HEADER + rows).encode())
    s3.put_object(Bucket="pipeline", Key="raw/day/deeper/d.csv", Body=b"not read")
    s3.put_object(Bucket="pipeline", Key="raw/day/readme.txt", Body=b"not a CSV")
    params = {
        **PARAMS,
        "input_prefix": "s3://pipeline/raw/day/",
        "output_prefix": "s3://pipeline/clean/day",
        "combined_path": "s3://pipeline/clean/day.parquet",
    }
    fanout = fan_out(harness, params)
    assert fanout.status.value == "SUCCESS", fanout.error_message
    assert isinstance(fanout.result, dict)
    assert fanout.result["inputs"] == [f"s3://pipeline/raw/day/{name}" for name in FILES]
    send_and_run(harness)
    assert [row[0] for row in sql(harness, "SELECT order_id FROM sales ORDER BY order_id")] == [1, 2, 3, 4, 5]
    keys = {item["Key"] for item in s3.list_objects_v2(Bucket="pipeline", Prefix="clean/")["Contents"]}
    assert keys == {"clean/day/a.parquet", "clean/day/b.parquet", "clean/day/c.parquet", "clean/day.parquet"}

    refused = fan_out(harness, {**params, "input_prefix": "s3://other-bucket/raw/"})
    assert refused.status.value == "FAILED"
    assert "S3 object refused: 's3://other-bucket/raw'" in (refused.error_message or "")
