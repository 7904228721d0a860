"""The operations layer (jobu.operations) called directly, as the CLI will: on PostgreSQL, MariaDB
and SQLite, with the work queue in moto."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from jobu.errors import InvalidCronJobError, InvalidStateError, NotFoundError
from jobu.event_dispatch import dispatch_event
from jobu.models import Execution, ExecutionStatus, NewExecution
from jobu.operations import cron_jobs, rejected_records, runs
from jobu.operations.cron_jobs import CronJobUpdate, RunNowRequest
from jobu.operations.paging import PageRequest
from jobu.operations.runs import BulkRetryRequest, RunFilter
from jobu.specs import CronJobSpec
from jobu.store import JobStore
from jobu.work_queue import WorkQueue
from tests.conftest import WORKER_TIMEOUTS
from tests.integration.test_admin_api import end_run, event_run, kafka_event
from tests.support.principals import TEST_ACTOR

T0 = datetime(2026, 11, 1, 12, 0, 30, tzinfo=UTC)
KNOWN = frozenset({"sample", "sample1"})


@pytest.fixture
def queue(aws_env: None) -> WorkQueue:
    sqs = boto3.client("sqs")
    return WorkQueue(sqs_client=sqs, queue_url=sqs.create_queue(QueueName="ops-work")["QueueUrl"])


def messages(queue: WorkQueue) -> list[dict[str, int]]:
    sqs = queue._sqs
    found = sqs.receive_message(QueueUrl=queue.queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return sorted((json.loads(m["Body"]) for m in found), key=lambda m: m["execution_id"])


async def end_with_child(store: JobStore, parent_id: int, *, at: datetime, result: Any) -> Execution:
    """Claim and finish a run SUCCESS with `result`, making a sample1 child run in the same
    transaction, as the worker does for a run whose params carry on_success; return the child."""
    assert await store.runs.claim(parent_id, attempt=0, now=at, deadline_at=at + timedelta(minutes=5))
    child = NewExecution(
        job_id=None,
        handler_name="sample1",
        params={"step": 2},
        param_source="event",
        max_retry=0,
        timeout_seconds=60,
        parent_execution_id=parent_id,
    )
    finished = await store.runs.finish(
        parent_id, attempt=0, status=ExecutionStatus.SUCCESS, result=result, error_message=None, now=at,
        follow_up=child,
    )  # fmt: skip
    assert finished.follow_up is not None
    return finished.follow_up


async def make_job(store: JobStore, name: str = "nightly", **fields: object) -> int:
    spec = CronJobSpec.model_validate(
        {"name": name, "cron_expression": "*/5 * * * *", "handler_name": "sample", **fields}
    )
    job = await cron_jobs.create(
        store, spec, known_handlers=KNOWN, worker_timeouts=WORKER_TIMEOUTS, now=T0, actor=TEST_ACTOR
    )
    return job.id


async def test_update_reschedules_only_when_the_schedule_changes(store: JobStore) -> None:
    job_id = await make_job(store)
    update = lambda **f: cron_jobs.update(  # noqa: E731
        store,
        job_id,
        CronJobUpdate(**f),
        known_handlers=KNOWN,
        worker_timeouts=WORKER_TIMEOUTS,
        now=T0 + timedelta(hours=1),
        actor=TEST_ACTOR,
    )
    described = await update(description="only words")
    assert described.next_run_at == datetime(2026, 11, 1, 12, 5, tzinfo=UTC)  # unchanged
    moved = await update(cron_expression="0 * * * *")
    assert moved.next_run_at == datetime(2026, 11, 1, 14, 0, tzinfo=UTC)  # from now (13:00:30)
    stopped = await update(is_enabled=False)
    assert stopped.next_run_at is None
    with pytest.raises(InvalidCronJobError, match="unknown handler"):
        await update(handler_name="gone")
    with pytest.raises(NotFoundError):
        await cron_jobs.update(
            store,
            999,
            CronJobUpdate(),
            known_handlers=KNOWN,
            worker_timeouts=WORKER_TIMEOUTS,
            now=T0,
            actor=TEST_ACTOR,
        )


async def test_a_catch_up_window_is_removed_by_0_and_kept_by_null(store: JobStore) -> None:
    job_id = await make_job(store, catchup_window_seconds=0)
    assert (await cron_jobs.get(store, job_id)).catchup_window_seconds is None  # 0 is no window
    update = lambda **f: cron_jobs.update(  # noqa: E731
        store,
        job_id,
        CronJobUpdate(**f),
        known_handlers=KNOWN,
        worker_timeouts=WORKER_TIMEOUTS,
        now=T0,
        actor=TEST_ACTOR,
    )
    assert (await update(catchup_window_seconds=3600)).catchup_window_seconds == 3600
    # a partial update: null (or absent) leaves the window as it is
    assert (await update(catchup_window_seconds=None, description="x")).catchup_window_seconds == 3600
    assert (await update(catchup_window_seconds=0)).catchup_window_seconds is None
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        CronJobUpdate(catchup_window_seconds=-1)


async def test_run_now_refuses_a_handler_that_is_not_deployed_and_bad_overrides(
    store: JobStore, queue: WorkQueue
) -> None:
    job_id = await make_job(store)
    with pytest.raises(InvalidCronJobError, match="not deployed"):
        await cron_jobs.run_now(
            store, queue, job_id, RunNowRequest(), known_handlers={"other"}, now=T0, actor=TEST_ACTOR
        )
    with pytest.raises(InvalidCronJobError, match="NUL character"):
        await cron_jobs.run_now(
            store,
            queue,
            job_id,
            RunNowRequest(params={"x": "\x00"}),
            known_handlers=KNOWN,
            now=T0,
            actor=TEST_ACTOR,
        )
    assert (
        await store.runs.count(job_id=job_id, statuses=None, handler_name=None, from_date=None, to_date=None)
        == 0
    )


async def test_run_detail_has_its_parent_children_and_provenance(store: JobStore) -> None:
    (parent,) = await store.runs.insert_events([event_run(1)], now=T0)
    created = await end_with_child(store, parent.id, at=T0, result={"ok": True})
    detail = await runs.get(store, parent.id)
    assert [c.id for c in detail.children] == [created.id]
    assert (detail.parent, detail.result, detail.params_provenance) == (None, {"ok": True}, {"name": "event"})
    child_detail = await runs.get(store, created.id)
    assert child_detail.parent is not None
    assert (child_detail.parent.id, child_detail.parent.status) == (parent.id, ExecutionStatus.SUCCESS)
    assert child_detail.children == []


async def test_event_runs_merged_over_a_cron_job_keep_each_keys_origin(
    store: JobStore, queue: WorkQueue
) -> None:
    await make_job(store, handler_params={"name": "base", "value": 1})
    await make_job(store, "other", handler_name="sample1")  # a base without params: nothing merged
    event = kafka_event(10, {"handler_name": "sample", "params": {"name": "event"}})
    event["records"]["jobu-events-0"].append(
        kafka_event(11, {"handler_name": "sample1"})["records"]["jobu-events-0"][0]
    )
    await dispatch_event(store, queue, event, known_handlers=KNOWN, now=T0)
    merged = await store.runs.for_source("jobu-events", 0, 10)
    plain = await store.runs.for_source("jobu-events", 0, 11)
    assert merged is not None
    assert plain is not None
    assert merged.params_provenance == {"name": "event", "value": "cron"}
    assert plain.params_provenance is None
    assert (await runs.get(store, plain.id)).params_provenance == {}


async def test_bulk_retry_takes_at_most_limit_runs_and_only_failed_or_timed_out(
    store: JobStore, queue: WorkQueue
) -> None:
    inserted = await store.runs.insert_events([event_run(n) for n in range(1, 6)], now=T0)
    statuses = [
        ExecutionStatus.FAILED,
        ExecutionStatus.TIMEOUT,
        ExecutionStatus.FAILED,
        ExecutionStatus.SUCCESS,
    ]
    for run, status in zip(inserted, statuses, strict=False):
        await end_run(store, run.id, status, at=T0)
    failed_or_timed_out = [inserted[2].id, inserted[1].id, inserted[0].id]  # newest first

    dry = await runs.bulk_retry(store, queue, BulkRetryRequest(limit=2), now=T0, actor=TEST_ACTOR)
    assert (dry.matched, dry.ids, messages(queue)) == (3, failed_or_timed_out[:2], [])
    applied = await runs.bulk_retry(
        store, queue, BulkRetryRequest(limit=2, dry_run=False), now=T0, actor=TEST_ACTOR
    )
    assert (applied.matched, applied.ids, applied.queued) == (
        3,
        sorted(failed_or_timed_out[:2]),
        sorted(failed_or_timed_out[:2]),
    )
    assert messages(queue) == [{"execution_id": i, "attempt": 1} for i in sorted(failed_or_timed_out[:2])]
    rest = await runs.bulk_retry(
        store, queue, BulkRetryRequest(dry_run=False, status=ExecutionStatus.FAILED), now=T0, actor=TEST_ACTOR
    )
    assert (rest.matched, rest.ids) == (1, [inserted[0].id])
    page = await runs.list_page(store, PageRequest(), RunFilter(status=ExecutionStatus.PENDING))
    assert page.total == 4  # the three retried and the one never started


async def test_concurrent_replays_of_one_record_make_one_run(store: JobStore, queue: WorkQueue) -> None:
    await dispatch_event(
        store, queue, kafka_event(7, {"handler_name": "sample", "job_id": 1}), known_handlers=KNOWN, now=T0
    )
    (rejected,) = (await rejected_records.list_page(store, PageRequest())).items
    await make_job(store)
    results = await asyncio.gather(
        *(
            rejected_records.replay(store, queue, rejected.id, known_handlers=KNOWN, now=T0, actor=TEST_ACTOR)
            for _ in range(3)
        ),
        return_exceptions=True,
    )
    outcomes = [r.outcome if not isinstance(r, BaseException) else type(r).__name__ for r in results]
    assert "dispatched" in outcomes
    assert set(outcomes) <= {"dispatched", "NotFoundError"}
    assert (
        await store.runs.count(job_id=None, statuses=None, handler_name=None, from_date=None, to_date=None)
        == 1
    )
    # each concurrent replay may send the run's message (as a redelivered Kafka batch does); the
    # worker's claim runs it once
    assert {(m["execution_id"], m["attempt"]) for m in messages(queue)} == {(1, 0)}


async def test_a_record_without_coordinates_cannot_be_replayed(store: JobStore, queue: WorkQueue) -> None:
    event = {"records": {"jobu-events-0": [{"topic": "jobu-events", "partition": "0", "offset": 1}]}}
    await dispatch_event(store, queue, event, known_handlers=KNOWN, now=T0)
    (rejected,) = (await rejected_records.list_page(store, PageRequest())).items
    assert rejected.source_topic is None
    assert rejected.record_key.startswith("sha256:")
    with pytest.raises(InvalidStateError, match="no Kafka coordinates"):
        await rejected_records.replay(
            store, queue, rejected.id, known_handlers=KNOWN, now=T0, actor=TEST_ACTOR
        )
    await rejected_records.discard(store, rejected.id, now=T0, actor=TEST_ACTOR)
    with pytest.raises(NotFoundError):
        await rejected_records.discard(store, rejected.id, now=T0, actor=TEST_ACTOR)


async def test_rejected_list_shows_a_preview_and_the_record_its_whole_value(
    store: JobStore, queue: WorkQueue
) -> None:
    long_value = {"handler_name": "unknown", "params": {"blob": "x" * 500}}
    await dispatch_event(store, queue, kafka_event(8, long_value), known_handlers=KNOWN, now=T0)
    (summary,) = (await rejected_records.list_page(store, PageRequest())).items
    assert (len(summary.raw_preview), summary.raw_truncated) == (200, True)
    record = await rejected_records.get(store, summary.id)
    assert json.loads(record.raw_value) == long_value
