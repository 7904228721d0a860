"""The cron dispatcher's tick: repair what crashes left, then create and queue the due runs.

Due jobs are taken in chunks, each one transaction of four statements for the whole chunk (lock
the due jobs, insert their runs, move them on, read the runs back); a chunk's messages are sent
while the next chunk is written. The chunks take the jobs no other transaction holds (SKIP
LOCKED); then the tick comes back for the due jobs that were busy (another tick still writing, a
worker promoting a run, an admin update) and waits for them, at most LOCK_WAIT_SECONDS, so a busy
row never costs its job a slot. The tick goes on until no job is due, or until the invocation's
time runs short: then it says so (`more_due`), and the entry point has the tick continue at once.

What a due job gets (docs/scheduling.md) depends on its catch-up policy, for the slots from its
next_run_at up to the tick:
- coalesce: one run, for the latest slot, and one for each slot the tick reached within
  SKIP_TOLERANCE (it was not missed);
- skip: a run for each slot the tick reached within SKIP_TOLERANCE;
- all: a run for each slot, the most recent catchup_limit of them;
and catchup_window_seconds, when set, drops slots older than that. The overlap policy (allow,
skip, queue_one) is applied by the INSERT itself; with skip or queue_one, at most one slot per tick.
Then the job moves to its first slot after the tick.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from jobu.config import RetryPolicy, SweepPolicy
from jobu.cron import Schedule
from jobu.errors import TransactionConflictError
from jobu.models import DueCronJob, ExecutionStatus, RunRef
from jobu.observability import (
    DISPATCH_LAG,
    DISPATCHED,
    SCHEDULE_EVENTS_REFUSED,
    SKIPPED_OVERLAP,
    count,
    logger,
    seconds,
)
from jobu.schedule_event import ScheduleEventRefusedError
from jobu.store import JobStore
from jobu.store.cron_jobs import SlotPlan
from jobu.sweeper import SweepReport, isolated, sweep
from jobu.work_queue import SendReport, WorkQueue, dispatch_new_runs

CHUNK_SIZE = 2000
# The runs one chunk may write (one transaction): catch-up `all` gives a job up to catchup_limit
# (1000) slots, and a chunk of such jobs must stay short and small, so that a tick cut short keeps
# what its chunks wrote, and the jobs due after them are not held up.
CHUNK_RUNS = 5000
# A slot the tick reaches this late was not missed: the schedule's own lateness (rate(1 minute)).
SKIP_TOLERANCE = timedelta(seconds=90)
# As many slots as a 90 s span can hold of the finest schedule (one a minute).
MAX_SKIP_SLOTS = 2
# Time kept back from the invocation for sending the last chunk's messages and answering.
RESERVE_SECONDS = 10.0
# The sweeper re-sends unsent runs page after page until this much of the invocation is left, for
# the due jobs (what it leaves, the next tick or the tick's continuation re-sends).
SWEEP_RESERVE_SECONDS = 25.0
# How long the tick waits for a due job's row that another transaction holds (each of them is short:
# a chunk of another tick, a promotion, an admin update), twice at most.
LOCK_WAIT_SECONDS = 5
RETENTION_BATCH = 1000
RETENTION_BATCHES_PER_TICK = 5
# a debounced Kafka record is known as taken for this long: past Kafka's default retention (7 days)
# the broker can no longer redeliver it; a window untouched that long has started long ago
DEBOUNCE_RETENTION = timedelta(days=8)


@dataclass
class TickReport:
    tick_time: datetime
    sweep: SweepReport = field(default_factory=SweepReport)
    dispatched: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)
    skipped_overlap: list[str] = field(default_factory=list)
    unsent: list[int] = field(default_factory=list)
    jobs: int = 0
    more_due: bool = False
    deleted_runs: int = 0
    deleted_batches: int = 0
    deleted_audit_rows: int = 0
    deleted_idempotency_keys: int = 0
    deleted_debounce_rows: int = 0
    failed: list[str] = field(default_factory=list)  # the tick's parts that raised (logged, counted)

    def as_json(self) -> dict[str, Any]:
        """The invocation's answer (its tick time in ISO 8601, Z for UTC)."""
        return asdict(self) | {"tick_time": self.tick_time.isoformat().replace("+00:00", "Z")}


def _planner(tick: datetime) -> Callable[[DueCronJob], SlotPlan]:
    """The plan of each due job at `tick`; jobs that share an expression and zone share the work."""

    @cache
    def schedule(expression: str, timezone: str) -> Schedule:
        return Schedule(expression, timezone)

    @cache
    def bounds(expression: str, timezone: str) -> tuple[datetime, datetime]:
        return schedule(expression, timezone).latest_at_or_before(tick), schedule(
            expression, timezone
        ).next_after(tick)

    def reached(job: DueCronJob, latest: datetime) -> list[datetime]:
        """The job's slots the tick reached within SKIP_TOLERANCE: not missed, whatever the policy.
        With rate(1 minute) ticks at any second, a lost or late tick (or a continuation still
        writing when the next minute's tick comes) leaves two of an every-minute job."""
        start = job.next_run_at or latest
        if start >= latest:  # the usual case: only the latest, if it is recent
            return [latest] if tick - latest <= SKIP_TOLERANCE else []
        since = max(start, tick - SKIP_TOLERANCE)
        return schedule(job.cron_expression, job.timezone).latest_slots(
            tick, since=since, limit=MAX_SKIP_SLOTS
        )

    def plan(job: DueCronJob) -> SlotPlan:
        latest, following = bounds(job.cron_expression, job.timezone)
        window = None if job.catchup_window_seconds is None else timedelta(seconds=job.catchup_window_seconds)
        oldest = max(job.next_run_at or latest, tick - window) if window is not None else job.next_run_at
        if job.catchup_policy == "skip":
            slots = reached(job, latest)
        elif job.catchup_policy == "all" and job.overlap_policy == "allow" and oldest is not None:
            slots = schedule(job.cron_expression, job.timezone).latest_slots(
                tick, since=oldest, limit=job.catchup_limit
            )
        else:  # coalesce: the latest of the missed slots, and each slot not missed (within the window)
            recent = [slot for slot in reached(job, latest) if oldest is None or slot >= oldest]
            slots = sorted({*recent, *([latest] if oldest is None or latest >= oldest else [])})
        if job.overlap_policy != "allow":
            slots = slots[-1:]  # they could not overlap: the latest
        return SlotPlan(job=job, slots=slots, next_run_at=following)

    return plan


async def _dispatch_due(
    store: JobStore, queue: WorkQueue, report: TickReport, *, now: datetime, time_left: Callable[[], float]
) -> None:
    plan = _planner(report.tick_time)
    sends: list[asyncio.Task[SendReport]] = []
    wait: int | None = None  # first the jobs nobody holds; then, waiting, the ones that were busy
    while True:
        try:
            chunk = await store.cron_jobs.dispatch_due(
                tick=report.tick_time,
                limit=CHUNK_SIZE,
                plan=plan,
                now=now,
                wait_seconds=wait,
                runs_limit=CHUNK_RUNS,
            )
        except TransactionConflictError as error:
            if wait is None:
                raise
            # held longer than any of jobu's own transactions: still due, the next tick takes them
            logger.warning("due jobs stayed busy: left for the next tick", extra={"error": str(error)})
            break
        report.jobs += len(chunk.plans)
        found = {(run.job_id, run.scheduled_time) for run in chunk.runs}
        report.skipped_overlap += [
            p.job.name for p in chunk.plans for s in p.slots if (p.job.id, s) not in found
        ]
        fresh = [r for r in chunk.runs if r.status is ExecutionStatus.PENDING and r.queued_at is None]
        report.waiting += [r.id for r in chunk.runs if r.status is ExecutionStatus.WAITING]
        if fresh:
            lag = max((now - r.scheduled_time).total_seconds() for r in fresh if r.scheduled_time is not None)
            seconds(DISPATCH_LAG, max(0.0, lag))
            # sent while the next chunk is written
            sends.append(asyncio.create_task(_send(store, queue, fresh, now=now)))
        if not chunk.more:
            if wait is not None or not store.connector.skips_locked_rows:
                break
            wait = LOCK_WAIT_SECONDS
        if time_left() < RESERVE_SECONDS + (0 if wait is None else 2 * LOCK_WAIT_SECONDS):
            report.more_due = True
            break
    for sent in await asyncio.gather(*sends):
        report.dispatched += sent.sent
        report.unsent += sorted(sent.failed)
    if not sends:  # 0 is a datapoint too: alarms see a tick, not a gap
        count(DISPATCHED, 0)
    count(SKIPPED_OVERLAP, len(report.skipped_overlap))


async def _send(store: JobStore, queue: WorkQueue, runs: list[RunRef], *, now: datetime) -> SendReport:
    return await dispatch_new_runs(store, queue, runs, now=now, message="cron run dispatched")


async def _apply_retention(
    store: JobStore,
    report: TickReport,
    *,
    retention: timedelta,
    now: datetime,
    time_left: Callable[[], float],
) -> None:
    """Delete finished runs past the retention, a bounded batch at a time, after the tick's work;
    and the batches that ended before the same cutoff."""
    report.deleted_runs += await _prune(store.runs.prune, cutoff=now - retention, time_left=time_left)
    report.deleted_batches += await _prune(store.batches.prune, cutoff=now - retention, time_left=time_left)


async def _apply_audit_retention(
    store: JobStore,
    report: TickReport,
    *,
    retention: timedelta,
    now: datetime,
    time_left: Callable[[], float],
) -> None:
    """Delete operator actions past the audit trail's own retention, the same way."""
    report.deleted_audit_rows += await _prune(store.audit.prune, cutoff=now - retention, time_left=time_left)


async def _apply_key_retention(
    store: JobStore, report: TickReport, *, now: datetime, time_left: Callable[[], float]
) -> None:
    """Idempotency claims that have expired (a new request would take them over anyway), and
    debounce windows and requests no request touched in DEBOUNCE_RETENTION: whatever the runs'
    retention, these rows have their own lifetimes."""
    report.deleted_idempotency_keys += await _prune(
        store.runs.prune_idempotency_keys, cutoff=now, time_left=time_left
    )
    report.deleted_debounce_rows += await _prune(
        store.debounce.prune, cutoff=now - DEBOUNCE_RETENTION, time_left=time_left
    )


async def _prune(
    prune: Callable[..., Awaitable[int]], *, cutoff: datetime, time_left: Callable[[], float]
) -> int:
    """Rows older than `cutoff`, deleted a bounded batch at a time while the invocation has time."""
    total = 0
    for _ in range(RETENTION_BATCHES_PER_TICK):
        if time_left() < RESERVE_SECONDS:
            break
        deleted = await prune(cutoff=cutoff, limit=RETENTION_BATCH)
        total += deleted
        if deleted < RETENTION_BATCH:
            break
    return total


def _unbounded() -> float:
    return float("inf")


async def run_tick(
    store: JobStore,
    queue: WorkQueue,
    *,
    tick_time: datetime,
    now: datetime,
    policy: SweepPolicy,
    retry_policy: RetryPolicy,
    retention: timedelta | None = None,
    audit_retention: timedelta | None = None,
    time_left: Callable[[], float] = _unbounded,
) -> TickReport:
    """Create the runs due at `tick_time` (the schedule's time); repair and prune with the clock's `now`.

    `time_left` gives the invocation's remaining seconds: the tick stops creating runs when fewer
    than RESERVE_SECONDS are left and reports `more_due`.

    The sweeper, the due jobs and retention each run whatever the others did: an error in one is
    logged, counted (TickPartFailures) and named in the report's `failed`, not raised, unless the
    database is unreachable."""
    report = TickReport(tick_time=tick_time)

    async def sweeping() -> None:
        report.sweep = await sweep(
            store,
            queue,
            now=now,
            policy=policy,
            retry_policy=retry_policy,
            time_left=lambda: time_left() - SWEEP_RESERVE_SECONDS,
        )

    await isolated("sweep", sweeping(), report.failed)
    await isolated("due", _dispatch_due(store, queue, report, now=now, time_left=time_left), report.failed)
    if retention is not None:
        retaining = _apply_retention(store, report, retention=retention, now=now, time_left=time_left)
        await isolated("retention", retaining, report.failed)
    keys = _apply_key_retention(store, report, now=now, time_left=time_left)
    await isolated("key retention", keys, report.failed)
    if audit_retention is not None:  # the audit trail, on its own (longer) retention
        pruning = _apply_audit_retention(
            store, report, retention=audit_retention, now=now, time_left=time_left
        )
        await isolated("audit retention", pruning, report.failed)
    return report


def continue_tick(lambda_client: Any, function_arn: str, tick_time: datetime) -> bool:
    """More jobs were due than one invocation could take: invoke this function again at once,
    asynchronously, for the same tick (its runs are keyed by slot, so nothing is created twice).
    On failure the next scheduled tick picks the rest up; False says so."""
    payload = json.dumps({"scheduled_time": tick_time.isoformat(), "continuation": True})
    try:
        lambda_client.invoke(FunctionName=function_arn, InvocationType="Event", Payload=payload.encode())
    except Exception as error:  # any failure: the rest waits for the next tick, a minute later
        logger.error(
            "could not continue the tick at once", extra={"error": f"{type(error).__name__}: {error}"}
        )
        return False
    logger.info("tick continues in a new invocation", extra={"tick_time": tick_time.isoformat()})
    return True


def refused_event(error: ScheduleEventRefusedError) -> dict[str, str]:
    """The answer to an event that can never succeed: logged and counted, not raised (no retries)."""
    logger.error("schedule event refused", extra={"reason": str(error)})
    count(SCHEDULE_EVENTS_REFUSED)
    return {"refused": str(error)}
