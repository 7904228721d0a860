"""Scheduling semantics (issue 12) through the real entry points, on PostgreSQL, MariaDB and SQLite:
catch-up policies, backfill, pause and resume, overlap policies, retries, cancellation, retention."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest

from jobu.handlers import BaseHandler, HandlerParams, HandlerResult, RetryAfter, handler
from jobu.models import CronJob
from jobu.operations import cron_jobs
from jobu.operations import runs as run_operations
from jobu.operations.cron_jobs import BackfillRequest, PauseRequest
from jobu.specs import CronJobSpec
from jobu.store import JobStore
from jobu.work_queue import WorkQueue
from tests.conftest import WORKER_TIMEOUTS
from tests.support.harness import Harness, work_message
from tests.support.principals import TEST_ACTOR

KNOWN = frozenset({"sample", "test_sched_sleeper", "test_sched_retry_after"})
# an hour boundary in the recent past: the dispatcher takes ticks near the clock only
HOUR = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=6)


@handler("test_sched_sleeper")
class Sleeper(BaseHandler):
    """Sleeps params.value seconds; records whether it was cancelled."""

    cancelled: ClassVar[set[int]] = set()

    async def execute(self, params: HandlerParams) -> HandlerResult:
        try:
            await asyncio.sleep(float(params.value))
        except asyncio.CancelledError:
            self.cancelled.add(self.context.execution_id)
            raise
        return HandlerResult(action="slept")


@handler("test_sched_retry_after")
class RetriesLater(BaseHandler):
    async def execute(self, params: HandlerParams) -> HandlerResult:
        raise RetryAfter(float(params.value), "the service said so")


def add_job(harness: Harness, created_at: datetime, **spec: Any) -> CronJob:
    async def create(store: JobStore) -> CronJob:
        fields = {"name": "job", "cron_expression": "0 * * * *", "handler_name": "sample", **spec}
        return await cron_jobs.create(
            store,
            CronJobSpec.model_validate(fields),
            known_handlers=KNOWN,
            worker_timeouts=WORKER_TIMEOUTS,
            now=created_at,
            actor=TEST_ACTOR,
        )

    return harness.with_store(create)


def runs(harness: Harness) -> list[tuple[datetime | None, str, str]]:
    return [(r.scheduled_time, r.status.value, r.param_source) for r in harness.executions()]


def slots(*hours: int) -> list[datetime]:
    return [HOUR + timedelta(hours=h) for h in hours]


# --- catch-up ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "extra", "expected"),
    [
        ("coalesce", {}, [3]),
        ("skip", {}, []),
        ("all", {}, [1, 2, 3]),
        ("all", {"catchup_limit": 2}, [2, 3]),
        ("all", {"catchup_window_seconds": 5400}, [2, 3]),  # 90 min: slots 1:30 and newer
        ("coalesce", {"catchup_window_seconds": 60}, []),  # the latest slot is 10 min old
    ],
)
def test_catch_up_after_downtime(
    harness: Harness, policy: str, extra: dict[str, Any], expected: list[int]
) -> None:
    # created just before slot 1; the dispatcher is not invoked again until 3:10
    add_job(harness, HOUR + timedelta(minutes=30), catchup_policy=policy, **extra)
    harness.tick(HOUR + timedelta(hours=3, minutes=10))
    assert [at for at, _, _ in runs(harness)] == slots(*expected)
    (job,) = harness.cron_jobs()
    assert job.next_run_at == HOUR + timedelta(hours=4)  # whatever the policy: on to the next slot


def test_skip_still_runs_a_slot_reached_on_time(harness: Harness) -> None:
    add_job(harness, HOUR - timedelta(minutes=30), catchup_policy="skip")
    harness.tick(HOUR + timedelta(seconds=40))  # the scheduler's normal lateness
    assert [at for at, _, _ in runs(harness)] == slots(0)


@pytest.mark.parametrize(
    ("overlap", "reached", "expected"),
    [
        ("allow", 85, [0, 1]),  # 12:00 reached 85 s after its time: not missed, it runs too
        ("allow", 95, [1]),  # 95 s late: missed, skipped
        ("skip", 85, [1]),  # could not overlap: the latest only
    ],
)
def test_skip_runs_every_slot_the_tick_reaches_within_the_grace(
    harness: Harness, overlap: str, reached: int, expected: list[int]
) -> None:
    """An every-minute job; the scheduler's rate(1 minute) ticks fall at :25 past each minute, and
    the 12:00:25 tick never came: the 12:01:25 tick reaches 12:00 85 s after its time."""
    minute = HOUR + timedelta(hours=1)
    add_job(harness, minute - timedelta(seconds=30), cron_expression="* * * * *", catchup_policy="skip",
            overlap_policy=overlap)  # fmt: skip
    harness.tick(minute + timedelta(seconds=reached - 60) + timedelta(minutes=1))
    assert [at for at, _, _ in runs(harness)] == [minute + timedelta(minutes=m) for m in expected]


# --- backfill ----------------------------------------------------------------------------------------


def test_backfill_previews_exactly_what_it_creates_then_creates_it_once(harness: Harness) -> None:
    job = add_job(harness, HOUR - timedelta(days=1), catchup_policy="skip")

    def backfill(dry_run: bool) -> Any:
        async def go(store: JobStore) -> Any:
            request = BackfillRequest(start=HOUR, end=HOUR + timedelta(hours=3), dry_run=dry_run)
            queue = WorkQueue(sqs_client=harness.sqs, queue_url=harness.queue_url)
            return await cron_jobs.backfill(
                store, queue, job.id, request, now=HOUR + timedelta(hours=5), actor=TEST_ACTOR
            )

        return harness.with_store(go)

    preview = backfill(dry_run=True)
    assert [s.scheduled_time for s in preview.slots] == slots(0, 1, 2, 3)
    assert (preview.created, harness.executions()) == (0, [])
    applied = backfill(dry_run=False)
    assert applied.created == 4
    assert {s.scheduled_time: s.run_id for s in applied.slots} == {
        r.scheduled_time: r.id for r in harness.executions()
    }
    assert {(status, source) for _, status, source in runs(harness)} == {("PENDING", "backfill")}
    assert len(harness.receive()) == 4  # queued
    again = backfill(dry_run=False)
    assert (again.created, [s.existed for s in again.slots]) == (0, [True] * 4)
    assert len(harness.executions()) == 4


# --- pause ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("policy", "after_resume"), [("coalesce", [2]), ("all", [1, 2]), ("skip", [])])
def test_pause_then_resume_lets_the_catch_up_policy_decide(
    harness: Harness, policy: str, after_resume: list[int]
) -> None:
    job = add_job(harness, HOUR - timedelta(minutes=30), catchup_policy=policy)
    harness.tick(HOUR + timedelta(seconds=30))  # slot 0 runs
    harness.with_store(
        lambda s: cron_jobs.pause(
            s, job.id, PauseRequest(), now=HOUR + timedelta(minutes=5), actor=TEST_ACTOR
        )
    )
    harness.tick(HOUR + timedelta(hours=1, seconds=30))
    harness.tick(HOUR + timedelta(hours=2, seconds=30))
    assert [at for at, _, _ in runs(harness)] == slots(0)  # nothing while paused
    harness.with_store(
        lambda s: cron_jobs.resume(s, job.id, now=HOUR + timedelta(hours=2, minutes=10), actor=TEST_ACTOR)
    )
    harness.tick(HOUR + timedelta(hours=2, minutes=10))
    assert [at for at, _, _ in runs(harness)] == slots(0, *after_resume)


def test_a_pause_with_an_end_resumes_by_itself(harness: Harness) -> None:
    job = add_job(harness, HOUR - timedelta(minutes=30))
    until = HOUR + timedelta(hours=1, minutes=30)
    paused = harness.with_store(
        lambda s: cron_jobs.pause(
            s, job.id, PauseRequest(until=until), now=HOUR - timedelta(minutes=20), actor=TEST_ACTOR
        )
    )
    assert (paused.paused_at is not None, paused.paused_until) == (True, until)
    harness.tick(HOUR + timedelta(hours=1, seconds=30))
    assert harness.executions() == []
    harness.tick(HOUR + timedelta(hours=2, seconds=30))
    assert [at for at, _, _ in runs(harness)] == slots(2)  # coalesce: the latest slot
    (job,) = harness.cron_jobs()
    assert (job.paused_at, job.paused_until) == (None, None)


# --- overlap ------------------------------------------------------------------------------------------


def test_overlap_skip_and_queue_one(harness: Harness) -> None:
    skip = add_job(harness, HOUR - timedelta(minutes=30), name="skip", overlap_policy="skip")
    queue_one = add_job(harness, HOUR - timedelta(minutes=30), name="queue-one", overlap_policy="queue_one")
    legacy = add_job(harness, HOUR - timedelta(minutes=30), name="legacy", allow_overlap=False)
    assert legacy.overlap_policy == "skip"
    for hour in (0, 1, 2):  # nothing runs the first run of each job: it stays PENDING
        harness.tick(HOUR + timedelta(hours=hour, seconds=30))
    by_job = {
        job.id: [(at, status) for at, status, _ in runs_of(harness, job.id)]
        for job in (skip, queue_one, legacy)
    }
    assert by_job[skip.id] == [(slots(0)[0], "PENDING")]
    assert by_job[legacy.id] == [(slots(0)[0], "PENDING")]
    # queue_one: one run waits behind the active one; the third slot folds into it
    assert by_job[queue_one.id] == [(slots(0)[0], "PENDING"), (slots(1)[0], "WAITING")]

    # the active run ends: the waiting one is promoted and queued by the worker that ended it
    first = next(r for r in harness.executions() if r.job_id == queue_one.id and r.status == "PENDING")
    harness.invoke_worker([work_message(first.id)])
    statuses = [status for _, status, _ in runs_of(harness, queue_one.id)]
    assert statuses == ["SUCCESS", "PENDING"]
    promoted = runs_of_full(harness, queue_one.id)[1]
    assert promoted.queued_at is not None


def runs_of(harness: Harness, job_id: int) -> list[tuple[datetime | None, str, str]]:
    return [(r.scheduled_time, r.status.value, r.param_source) for r in runs_of_full(harness, job_id)]


def runs_of_full(harness: Harness, job_id: int) -> list[Any]:
    return [r for r in harness.executions() if r.job_id == job_id]


# --- retries ------------------------------------------------------------------------------------------


def test_a_handler_says_when_to_retry(harness: Harness) -> None:
    execution_id = harness.insert_event_run("test_sched_retry_after", {"value": 120}, max_retry=1)
    before = datetime.now(UTC)
    harness.invoke_worker([work_message(execution_id)])
    (run,) = harness.executions()
    assert (run.status, run.retry_count) == ("PENDING", 1)
    assert run.error_message == "RetryAfter: retry after 120s: the service said so"
    assert timedelta(seconds=119) <= run.available_at - before <= timedelta(seconds=125)


def test_a_wait_longer_than_sqs_can_delay_is_sent_by_the_sweeper_when_due(harness: Harness) -> None:
    execution_id = harness.insert_event_run("test_sched_retry_after", {"value": 3600}, max_retry=1)
    harness.invoke_worker([work_message(execution_id)])
    (run,) = harness.executions()
    assert (run.status, run.queued_at) == ("PENDING", None)
    assert harness.receive() == []  # not sent now (SQS delays 900 s at most) ...
    assert harness.tick(run.available_at - timedelta(minutes=16))["sweep"]["requeued"] == []
    # ... but once SQS can delay it to its time, with the delay that is left
    assert harness.tick(run.available_at - timedelta(minutes=1))["sweep"]["requeued"] == [execution_id]
    assert harness.executions()[0].queued_at == run.available_at - timedelta(minutes=1)


# --- cancel -------------------------------------------------------------------------------------------


def test_a_cancelled_pending_run_never_starts(harness: Harness) -> None:
    execution_id = harness.insert_event_run("test_sched_sleeper", {"value": 0})
    outcome = harness.with_store(
        lambda s: run_operations.cancel(
            s,
            WorkQueue(sqs_client=harness.sqs, queue_url=harness.queue_url),
            execution_id,
            now=datetime.now(UTC),
            actor=TEST_ACTOR,
        )
    )
    assert outcome.outcome == "cancelled"
    assert harness.invoke_worker([work_message(execution_id)]) == {"batchItemFailures": []}
    (run,) = harness.executions()
    assert (run.status, run.started_at, run.error_message) == ("CANCELLED", None, "cancelled by an operator")


def test_a_running_run_is_cancelled_within_seconds_and_its_handler_sees_it(harness: Harness) -> None:
    execution_id = harness.insert_event_run("test_sched_sleeper", {"value": 60}, max_retry=3)

    def cancel_soon() -> None:
        time.sleep(1.0)
        queue = WorkQueue(sqs_client=harness.sqs, queue_url=harness.queue_url)
        result = harness.with_store(
            lambda s: run_operations.cancel(s, queue, execution_id, now=datetime.now(UTC), actor=TEST_ACTOR)
        )
        assert result.outcome == "requested"

    canceller = threading.Thread(target=cancel_soon)
    canceller.start()
    started = time.monotonic()
    assert harness.invoke_worker([work_message(execution_id)]) == {"batchItemFailures": []}
    took = time.monotonic() - started
    canceller.join()
    (run,) = harness.executions()
    assert (run.status, run.retry_count, run.error_message) == ("CANCELLED", 0, "cancelled by an operator")
    assert execution_id in Sleeper.cancelled
    assert took < 30  # not the handler's 60 s: the worker cut it short (a few seconds of polling)


def test_cancel_of_an_ended_run_is_refused(harness: Harness) -> None:
    execution_id = harness.insert_event_run("sample", {})
    harness.invoke_worker([work_message(execution_id)])
    queue = WorkQueue(sqs_client=harness.sqs, queue_url=harness.queue_url)
    with pytest.raises(Exception, match="is SUCCESS: only a run that has not ended can be cancelled"):
        harness.with_store(
            lambda s: run_operations.cancel(s, queue, execution_id, now=datetime.now(UTC), actor=TEST_ACTOR)
        )


# --- retention ----------------------------------------------------------------------------------------


def test_retention_deletes_old_finished_runs_in_batches_and_keeps_the_rest(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.cron_dispatcher import app as cron_app
    from jobu import cron_dispatch

    old = [harness.insert_event_run("sample", {}) for _ in range(5)]
    for execution_id in old:
        harness.invoke_worker([work_message(execution_id)])
    unfinished = harness.insert_event_run("sample", {})
    monkeypatch.setattr(cron_dispatch, "RETENTION_BATCH", 2)  # several batches in one tick
    monkeypatch.setenv("JOBU_RUN_RETENTION_DAYS", "1")
    cron_app.container.reset()
    report = harness.tick(datetime.now(UTC) + timedelta(days=1, minutes=1))
    assert report["deleted_runs"] == 5
    assert [r.id for r in harness.executions()] == [unfinished]


# --- time zones through the tick ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first_tick", "expected"),
    [
        # spring forward in Berlin: 02:30 does not exist; the run is at the jump, 03:00 CEST (01:00Z)
        (datetime(2026, 3, 29, 0, 20, tzinfo=UTC), [datetime(2026, 3, 29, 1, 0, tzinfo=UTC)]),
        # fall back: 02:30 happens twice; the run is at the first, 02:30 CEST (00:30Z), and not at 01:30Z
        (datetime(2026, 10, 25, 0, 10, tzinfo=UTC), [datetime(2026, 10, 25, 0, 30, tzinfo=UTC)]),
    ],
)
def test_a_zoned_job_runs_once_across_a_clock_change(
    harness: Harness, first_tick: datetime, expected: list[datetime]
) -> None:
    add_job(harness, first_tick, cron_expression="30 2 * * *", timezone="Europe/Berlin")
    for minute in range(0, 100, 5):  # a tick every five minutes through the change
        harness.tick(first_tick + timedelta(minutes=minute))
    assert [at for at, _, _ in runs(harness)] == expected


# --- a tick that runs out of time ---------------------------------------------------------------------


def test_a_tick_out_of_time_says_more_is_due_and_continues_at_once(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    import boto3
    from botocore.stub import Stubber

    from jobu import cron_dispatch
    from jobu.config import RetryPolicy, SweepPolicy

    for n in range(5):
        add_job(harness, HOUR - timedelta(minutes=30), name=f"job-{n}")
    monkeypatch.setattr(cron_dispatch, "CHUNK_SIZE", 2)
    tick = HOUR + timedelta(seconds=30)
    chunks_left = iter([60.0, 5.0])  # after the first chunk, less than RESERVE_SECONDS is left

    async def first_invocation(store: JobStore) -> Any:
        queue = WorkQueue(sqs_client=harness.sqs, queue_url=harness.queue_url)
        return await cron_dispatch.run_tick(
            store,
            queue,
            tick_time=tick,
            now=tick,
            policy=SweepPolicy(grace=timedelta(seconds=60), stuck_after=timedelta(minutes=15)),
            retry_policy=RetryPolicy(base=timedelta(seconds=10), max=timedelta(seconds=900)),
            time_left=lambda: next(chunks_left, 0.0),
        )

    report = harness.with_store(first_invocation)
    assert (report.more_due, len(report.dispatched)) == (True, 4)  # two chunks of two, three jobs left

    client = boto3.client("lambda")
    arn = "arn:aws:lambda:us-east-1:123456789012:function:jobu-CronDispatcherFunction-abc"
    with Stubber(client) as stub:
        expected = {"scheduled_time": tick.isoformat(), "continuation": True}
        stub.add_response(
            "invoke",
            {"StatusCode": 202},
            {"FunctionName": arn, "InvocationType": "Event", "Payload": json.dumps(expected).encode()},
        )
        assert cron_dispatch.continue_tick(client, arn, tick)
        stub.assert_no_pending_responses()
    # the continuation is a tick for the same time: it creates the rest, and nothing twice
    harness.tick(tick)
    assert len(harness.executions()) == 5
    with Stubber(client) as failing:
        failing.add_client_error("invoke", "AccessDeniedException")
        assert not cron_dispatch.continue_tick(client, arn, tick)  # logged; the next tick picks up
