"""The job store's contract, run unchanged on PostgreSQL, MariaDB and SQLite."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from jobu.errors import DuplicateError
from jobu.models import CronJob, ExecutionStatus, NewExecution, RunRef
from jobu.operations.cron_jobs import create as create_cron_job
from jobu.operations.cron_jobs import set_enabled
from jobu.specs import CronJobSpec
from jobu.store import JobStore, open_store
from jobu.store.cron_jobs import SlotPlan
from tests.conftest import WORKER_TIMEOUTS
from tests.support.principals import TEST_ACTOR

T0 = datetime(2026, 11, 22, 10, 0, 30, tzinfo=UTC)
HANDLERS = frozenset({"sample", "sample1"})


async def make_job(store: JobStore, name: str = "nightly", **overrides: object) -> CronJob:
    spec = CronJobSpec.model_validate(
        {"name": name, "cron_expression": "* * * * *", "handler_name": "sample", **overrides}
    )
    return await create_cron_job(
        store, spec, known_handlers=HANDLERS, worker_timeouts=WORKER_TIMEOUTS, now=T0, actor=TEST_ACTOR
    )


def event_run(offset: int, *, topic: str = "jobu-events", partition: int = 0) -> NewExecution:
    return NewExecution(
        job_id=None,
        handler_name="sample",
        params={"offset": offset, "nested": {"list": [1, 2]}},
        param_source="event",
        max_retry=1,
        timeout_seconds=30,
        source_topic=topic,
        source_partition=partition,
        source_offset=offset,
    )


async def test_migrate_is_idempotent(store: JobStore) -> None:
    assert await store.migrate() == []


async def test_cron_job_round_trip_keeps_types(store: JobStore) -> None:
    job = await make_job(store, handler_params={"limit": 5, "tags": ["a"]}, allow_overlap=False, max_retry=2)
    assert job.overlap_policy == "skip"  # the original's allow_overlap=false
    loaded = await store.cron_jobs.get_by_name("nightly")
    assert loaded == job
    assert loaded.handler_params == {"limit": 5, "tags": ["a"]}
    assert loaded.allow_overlap is False
    assert loaded.next_run_at == datetime(2026, 11, 22, 10, 1, tzinfo=UTC)


async def test_duplicate_cron_job_name_is_refused(store: JobStore) -> None:
    await make_job(store)
    with pytest.raises(DuplicateError, match="exists already"):
        await make_job(store)
    assert len(await store.cron_jobs.page(is_enabled=None, limit=10_000, offset=0)) == 1


def one_slot_each(tick: datetime) -> Callable[[CronJob], SlotPlan]:
    """A plan that gives each due job one run, for its own next_run_at, and moves it a minute on."""

    def plan(job: CronJob) -> SlotPlan:
        assert job.next_run_at is not None
        return SlotPlan(job=job, slots=[job.next_run_at], next_run_at=job.next_run_at + timedelta(minutes=1))

    return plan


async def test_a_tick_chunk_takes_only_enabled_due_unpaused_jobs(store: JobStore) -> None:
    await make_job(store, name="every-minute")
    await make_job(store, name="hourly", cron_expression="0 * * * *")
    await make_job(store, name="disabled", is_enabled=False)
    paused = await make_job(store, name="paused")
    await store.cron_jobs.pause(paused.id, until=None, now=T0)
    tick = T0 + timedelta(minutes=1)
    chunk = await store.cron_jobs.dispatch_due(tick=tick, limit=100, plan=one_slot_each(tick), now=tick)
    assert [p.job.name for p in chunk.plans] == ["every-minute"]


async def test_a_tick_chunk_creates_each_slot_once_and_moves_the_job_on(store: JobStore) -> None:
    job = await make_job(store)
    tick = T0 + timedelta(minutes=1)
    slot = datetime(2026, 11, 22, 10, 1, tzinfo=UTC)
    chunk = await store.cron_jobs.dispatch_due(tick=tick, limit=100, plan=one_slot_each(tick), now=tick)
    (ref,) = chunk.runs
    run = await store.runs.get(ref.id)
    assert run is not None
    assert (run.status, run.param_source, run.scheduled_time, run.job_id) == (
        ExecutionStatus.PENDING,
        "cron",
        slot,
        job.id,
    )
    moved = await store.cron_jobs.get(job.id)
    assert moved is not None
    assert moved.next_run_at == slot + timedelta(minutes=1)
    # the same tick again: the job is no longer due, and nothing new is created
    again = await store.cron_jobs.dispatch_due(tick=tick, limit=100, plan=one_slot_each(tick), now=tick)
    assert (again.plans, again.runs) == ([], [])
    assert len(await store.runs.list_recent()) == 1


async def test_concurrent_dispatchers_create_one_run(store: JobStore, database_url: str) -> None:
    job = await make_job(store)
    tick = datetime(2026, 11, 22, 10, 1, tzinfo=UTC)
    others = [await open_store(database_url) for _ in range(3)]
    try:
        chunks = await asyncio.gather(
            *(
                other.cron_jobs.dispatch_due(tick=tick, limit=100, plan=one_slot_each(tick), now=tick)
                for other in others
            )
        )
    finally:
        for other in others:
            await other.close()
    # one dispatcher locked and took the job (the others skipped it, or found it moved on)
    assert sorted(len(chunk.plans) for chunk in chunks) == [0, 0, 1]
    assert [run.job_id for run in await store.runs.list_recent()] == [job.id]


async def test_overlap_skip_is_applied_by_the_insert(store: JobStore) -> None:
    job = await make_job(store, overlap_policy="skip")
    first_tick = datetime(2026, 11, 22, 10, 1, tzinfo=UTC)
    (first,) = (
        await store.cron_jobs.dispatch_due(
            tick=first_tick, limit=10, plan=one_slot_each(first_tick), now=first_tick
        )
    ).runs
    second_tick = first_tick + timedelta(minutes=1)
    second = await store.cron_jobs.dispatch_due(
        tick=second_tick, limit=10, plan=one_slot_each(second_tick), now=second_tick
    )
    assert [p.job.id for p in second.plans] == [job.id]  # taken and moved on ...
    assert second.runs == []  # ... but its slot skipped: the first run is still PENDING
    assert [e.id for e in await store.runs.list_recent()] == [first.id]


async def test_event_batch_is_idempotent_and_returns_unqueued_runs(store: JobStore) -> None:
    created = await store.runs.insert_events([event_run(1), event_run(2), event_run(3)], now=T0)
    assert [e.source_offset for e in created] == [1, 2, 3]
    assert created[0].params == {"offset": 1, "nested": {"list": [1, 2]}}
    await store.runs.mark_queued([(created[0].id, 0)], now=T0)
    again = await store.runs.insert_events([event_run(1), event_run(2), event_run(3)], now=T0)
    assert [e.id for e in again] == [created[1].id, created[2].id]
    assert len(await store.runs.list_recent()) == 3


async def test_a_kafka_batch_reads_back_only_what_its_sends_need(store: JobStore) -> None:
    # not every column made into whole rows: 1,000 of those were most of the dispatch beyond its
    # floor (docs/performance.md, "The batch's runs read back narrow")
    done = await store.runs.insert_event_requests([event_run(1), event_run(2)], now=T0)
    assert [type(run) for run in done.pending] == [RunRef, RunRef]
    first = done.pending[0]
    assert (first.handler_name, first.status, first.retry_count, first.queued_at) == (
        "sample",
        ExecutionStatus.PENDING,
        0,
        None,
    )
    assert first.available_at is not None
    assert first.limit_state is None


async def test_claim_is_exclusive_and_attempt_bound(store: JobStore) -> None:
    (run,) = await store.runs.insert_events([event_run(1)], now=T0)
    deadline = T0 + timedelta(seconds=20)  # before the run's own timeout (30 s) is up
    assert await store.runs.claim(run.id, attempt=1, now=T0, deadline_at=deadline) is None
    claimed = await store.runs.claim(run.id, attempt=0, now=T0, deadline_at=deadline)
    assert await store.runs.claim(run.id, attempt=0, now=T0, deadline_at=deadline) is None
    assert await store.runs.claim(run.id + 1, attempt=0, now=T0, deadline_at=deadline) is None
    # the claim returns the run as it now is
    assert claimed is not None
    assert claimed == await store.runs.get(run.id)
    assert (claimed.id, claimed.params, claimed.retry_count) == (run.id, run.params, 0)
    assert (claimed.status, claimed.started_at, claimed.deadline_at) == (
        ExecutionStatus.RUNNING,
        T0,
        deadline,
    )


async def test_claim_deadline_is_the_run_timeout_when_that_comes_first(store: JobStore) -> None:
    (run,) = await store.runs.insert_events([event_run(1)], now=T0)
    now = T0 + timedelta(microseconds=250_000)
    claimed = await store.runs.claim(
        run.id, attempt=0, now=now, deadline_at=now + timedelta(minutes=10), margin=timedelta(seconds=5)
    )
    assert claimed is not None
    # timeout_seconds (30) + the margin, from the claim's time
    assert claimed.deadline_at == now + timedelta(seconds=35)
    assert await store.runs.stale_running(now=now + timedelta(seconds=35), limit=10) == []
    stale = await store.runs.stale_running(now=now + timedelta(seconds=35.001), limit=10)
    assert [e.id for e in stale] == [run.id]


async def test_retry_then_finish_with_follow_up(store: JobStore) -> None:
    (run,) = await store.runs.insert_events([event_run(1)], now=T0)
    await store.runs.claim(run.id, attempt=0, now=T0, deadline_at=T0)
    later = T0 + timedelta(seconds=10)
    assert await store.runs.retry(
        run.id, attempt=0, error_message="boom", result=None, available_at=later, now=T0
    )
    retried = await store.runs.get(run.id)
    assert retried is not None
    assert (retried.status, retried.retry_count, retried.error_message) == (
        ExecutionStatus.PENDING,
        1,
        "boom",
    )
    assert retried.available_at == later
    assert retried.queued_at is None

    assert await store.runs.claim(run.id, attempt=1, now=later, deadline_at=later)
    follow_up = NewExecution(
        job_id=None,
        handler_name="sample1",
        params={"step": 2},
        param_source="event",
        max_retry=0,
        timeout_seconds=9,
    )
    done = await store.runs.finish(
        run.id,
        attempt=1,
        status=ExecutionStatus.SUCCESS,
        result={"success": True, "data": [1]},
        error_message=None,
        now=later,
        follow_up=follow_up,
    )
    child = done.follow_up
    assert done.finished
    assert child is not None
    assert child.parent_execution_id == run.id
    assert child.params == {"step": 2}
    finished = await store.runs.get(run.id)
    assert finished is not None
    assert (finished.status, finished.result, finished.finished_at) == (
        ExecutionStatus.SUCCESS,
        {"success": True, "data": [1]},
        later,
    )
    # finishing the same attempt twice changes nothing and creates no second child
    again = await store.runs.finish(
        run.id,
        attempt=1,
        status=ExecutionStatus.FAILED,
        result=None,
        error_message="x",
        now=later,
        follow_up=follow_up,
    )
    assert (again.finished, again.follow_up) == (False, None)
    assert len(await store.runs.list_recent()) == 2


async def test_sweeper_queries(store: JobStore) -> None:
    old, fresh, running = await store.runs.insert_events([event_run(1), event_run(2), event_run(3)], now=T0)
    await store.runs.mark_queued([(running.id, 0)], now=T0)
    await store.runs.claim(running.id, attempt=0, now=T0, deadline_at=T0 + timedelta(seconds=30))
    assert [e.id for e in await store.runs.unqueued(cutoff=T0, limit=10)] == [old.id, fresh.id]
    assert await store.runs.unqueued(cutoff=T0 - timedelta(seconds=1), limit=10) == []
    assert await store.runs.stale_running(now=T0 + timedelta(seconds=30), limit=10) == []
    stale = await store.runs.stale_running(now=T0 + timedelta(seconds=31), limit=10)
    assert [e.id for e in stale] == [running.id]


async def test_list_executions_filters(store: JobStore) -> None:
    job = await make_job(store)
    slot = datetime(2026, 11, 22, 10, 1, tzinfo=UTC)
    (cron_run,) = (await store.runs.insert_backfill(job.id, [slot], now=slot)).created
    (event,) = await store.runs.insert_events([event_run(1)], now=T0)
    await store.runs.claim(event.id, attempt=0, now=T0, deadline_at=T0)
    assert cron_run is not None
    assert [e.id for e in await store.runs.list_recent(job_id=job.id)] == [cron_run.id]
    assert [e.id for e in await store.runs.list_recent(status=ExecutionStatus.RUNNING)] == [event.id]
    assert [e.id for e in await store.runs.list_recent(handler_name="sample")] == [event.id, cron_run.id]
    assert [e.id for e in await store.runs.list_recent(limit=1)] == [event.id]


async def test_rejected_events_are_kept_once(store: JobStore) -> None:
    row = {
        "record_key": "t:2:9",
        "source_topic": "t",
        "source_partition": 2,
        "source_offset": 9,
        "raw_value": "{oops",
        "raw_encoding": "utf-8",
        "reason": "not JSON",
    }
    # a record whose coordinates were themselves broken: no coordinates, keyed by a digest
    broken = {
        **row,
        "record_key": "sha256:" + "ab" * 32,
        "source_topic": None,
        "source_partition": None,
        "source_offset": None,
        "raw_value": "AAEC",
        "raw_encoding": "base64",
    }
    await store.rejected_records.insert([row, broken], now=T0)
    await store.rejected_records.insert([broken, row], now=T0)
    first, second = sorted(await store.rejected_records.list_recent(), key=lambda r: r.id)
    assert (first.raw_value, first.reason, first.source_partition, first.source_offset) == (
        "{oops",
        "not JSON",
        2,
        9,
    )
    assert (second.record_key, second.source_topic, second.raw_encoding) == (
        "sha256:" + "ab" * 32,
        None,
        "base64",
    )


async def test_cron_jobs_for_events_by_id_and_handler(store: JobStore) -> None:
    first = await make_job(store, name="a")
    second = await make_job(store, name="b", handler_name="sample1")
    found = await store.cron_jobs.for_events([second.id], ["sample"])
    assert [job.id for job in found] == [first.id, second.id]
    assert await store.cron_jobs.for_events([], []) == []


async def test_disable_and_enable(store: JobStore) -> None:
    await make_job(store)
    disabled = await set_enabled(store, "nightly", enabled=False, now=T0, actor=TEST_ACTOR)
    assert (disabled.is_enabled, disabled.next_run_at) == (False, None)
    enabled = await set_enabled(store, "nightly", enabled=True, now=T0 + timedelta(hours=1), actor=TEST_ACTOR)
    assert enabled.next_run_at == datetime(2026, 11, 22, 11, 1, tzinfo=UTC)
    assert await store.cron_jobs.delete(enabled.id, reason="deleted", now=T0)
    assert not await store.cron_jobs.delete(enabled.id, reason="deleted", now=T0)
