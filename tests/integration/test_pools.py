"""Worker pools end to end: every path that queues a run sends it to its handler's pool's queue, and
a pool's worker runs its own handlers only.

A `pandas_preprocess` run belongs to the pipeline pool, a `sample` run to the default pool
(jobu/handler_manifest.json). Through the real entry points (the dispatchers, the workers, the admin
function) on each backend, with each pool's queues in moto (tests.support.harness): a Kafka record, a
cron tick, the sweeper, run now, backfill, a retry by an operator, a replayed record, a worker's own
retry and an `on_success` follow-up each put the pipeline run's message on the pipeline pool's
queue, and nothing on the default pool's.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from jobu.models import ExecutionStatus
from tests.integration.test_admin_api import end_run, kafka_event
from tests.support.admin_client import AdminClient
from tests.support.harness import REQUEUE_GRACE, Harness, work_message

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def preprocess(tmp_path: Path) -> dict[str, Any]:
    """pandas_preprocess params the edge accepts; the input never exists (a missing input is retried)."""
    data = tmp_path / "data"
    return {"input_path": str(data / "missing.csv"), "output_path": str(data / "out.parquet")}


def take_queued(harness: Harness) -> dict[str, list[int]]:
    """The execution ids waiting on each pool's queue (delayed ones included), taken off the queues."""
    found: dict[str, list[int]] = {}
    for pool, (url, _) in harness.pool_queues.items():
        ids = []
        while messages := harness.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for message in messages:
                ids.append(json.loads(message["Body"])["execution_id"])
                harness.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        delayed = harness.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
        )
        waiting = int(delayed["Attributes"]["ApproximateNumberOfMessagesDelayed"])  # a retry's backoff
        if waiting:
            ids += [-1] * waiting
            harness.sqs.purge_queue(QueueUrl=url)  # once a minute at most, as SQS allows
        found[pool] = sorted(ids)
    return found


def pipeline_job(admin: AdminClient, tmp_path: Path, **fields: Any) -> dict[str, Any]:
    body = {
        "name": "nightly-export",
        "cron_expression": "0 2 * * *",
        "handler_name": "pandas_preprocess",
        "handler_params": preprocess(tmp_path),
        **fields,
    }
    created = admin.post("/api/crons", body=body)
    assert created.status == 201, created.body
    job: dict[str, Any] = created.json
    return job


def test_a_kafka_record_goes_to_its_handlers_pools_queue(harness: Harness, tmp_path: Path) -> None:
    sample = {"handler_name": "sample", "params": {"name": "light"}}
    harness.invoke_queue(
        kafka_event(1, {"handler_name": "pandas_preprocess", "params": preprocess(tmp_path)})
    )
    harness.invoke_queue(kafka_event(2, sample))
    event_runs = {run.handler_name: run.id for run in harness.executions()}
    assert take_queued(harness) == {
        "default": [event_runs["sample"]],
        "pipeline": [event_runs["pandas_preprocess"]],
    }


def test_a_cron_tick_queues_a_pipeline_run_on_the_pipeline_queue(
    harness: Harness, admin: AdminClient, tmp_path: Path
) -> None:
    job = pipeline_job(admin, tmp_path)
    tick = harness.tick(datetime.fromisoformat(job["next_run_at"]))
    assert take_queued(harness) == {"default": [], "pipeline": tick["dispatched"]}
    assert len(tick["dispatched"]) == 1


def test_the_sweeper_sends_a_lost_pipeline_run_to_the_pipeline_queue(
    harness: Harness, tmp_path: Path
) -> None:
    # written, never sent: its dispatcher died
    lost = harness.insert_event_run(
        "pandas_preprocess", preprocess(tmp_path), now=datetime.now(UTC) - 2 * REQUEUE_GRACE
    )
    report = harness.tick(datetime.now(UTC).replace(second=0, microsecond=0))
    assert report["sweep"]["requeued"] == [lost]
    assert take_queued(harness) == {"default": [], "pipeline": [lost]}


def test_run_now_backfill_retry_and_replay_queue_on_the_pipeline_queue(
    harness: Harness, admin: AdminClient, tmp_path: Path
) -> None:
    job = pipeline_job(admin, tmp_path)
    now_run = admin.post(f"/api/crons/{job['id']}/run").json
    assert now_run["queued"] is True
    assert take_queued(harness) == {"default": [], "pipeline": [now_run["run"]["id"]]}

    end = datetime.now(UTC).replace(microsecond=0)
    backfill = {"start": (end - timedelta(days=2)).isoformat(), "end": end.isoformat(), "dry_run": False}
    filled = admin.post(f"/api/crons/{job['id']}/backfill", body=backfill).json
    assert filled["created"] == 2
    created = sorted(slot["run_id"] for slot in filled["slots"] if not slot["existed"])
    assert take_queued(harness) == {"default": [], "pipeline": created}

    harness.with_store(lambda store: end_run(store, created[0], ExecutionStatus.FAILED, at=T0))
    retried = admin.post(f"/api/jobs/{created[0]}/retry").json
    assert retried["queued"] is True
    assert take_queued(harness) == {"default": [], "pipeline": [created[0]]}

    # a record for a cron job that does not exist yet, replayed once it does
    record = {"handler_name": "pandas_preprocess", "params": preprocess(tmp_path), "job_id": job["id"] + 1}
    harness.invoke_queue(kafka_event(3, record))
    (rejected,) = admin.get("/api/rejected").json["items"]
    assert pipeline_job(admin, tmp_path, name="hourly-export")["id"] == job["id"] + 1
    replayed = admin.post(f"/api/rejected/{rejected['id']}/replay").json
    assert replayed["outcome"] == "dispatched", replayed
    assert take_queued(harness) == {"default": [], "pipeline": [replayed["run"]["id"]]}


def test_a_workers_retry_and_a_follow_up_go_to_their_handlers_pools(harness: Harness, tmp_path: Path) -> None:
    # the pipeline worker retries its own run (a missing input may appear): back on its queue
    retried = harness.insert_event_run("pandas_preprocess", preprocess(tmp_path), max_retry=1)
    assert harness.invoke_worker([work_message(retried)], pool="pipeline") == {"batchItemFailures": []}
    assert take_queued(harness) == {"default": [], "pipeline": [-1]}  # delayed by the backoff

    # a default pool's run whose on_success is the pipeline's: the follow-up goes to the pipeline
    chained = harness.insert_event_run(
        "sample", {"on_success": {"handler_name": "pandas_preprocess", "params": preprocess(tmp_path)}}
    )
    assert harness.invoke_worker([work_message(chained)]) == {"batchItemFailures": []}
    (follow_up,) = [run for run in harness.executions() if run.parent_execution_id == chained]
    assert take_queued(harness) == {"default": [], "pipeline": [follow_up.id]}


@pytest.mark.parametrize(("pool", "handler"), [("pipeline", "sample"), ("default", "db_loader")])
def test_a_worker_fails_another_pools_run_at_once(harness: Harness, pool: str, handler: str) -> None:
    params = {"input_path": "x.parquet", "table": "sales"} if handler == "db_loader" else {}
    execution_id = harness.insert_event_run(handler, params, max_retry=3)
    assert harness.invoke_worker([work_message(execution_id)], pool=pool) == {"batchItemFailures": []}
    (run,) = harness.executions()
    assert (run.status, run.retry_count) == ("FAILED", 0)
    owner = "pipeline" if pool == "default" else "default"
    assert run.error_message == (
        f"handler {handler!r} runs in pool {owner!r}, not in this worker's pool {pool!r}: "
        "its message was sent to the wrong queue"
    )
