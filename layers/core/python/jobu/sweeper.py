"""Repairs what a crash can leave behind; run on every cron dispatcher tick.

- A RUNNING run past its deadline belonged to a worker that died (Lambda timeout, out of
  memory): it becomes TIMEOUT, or PENDING again if it has retries left; CANCELLED if an operator
  had asked to cancel it.
- A run waiting for its handler's limits whose run_at or rate time comes within SQS's 15 minutes,
  or for which a slot is free, is handed over (jobu.store.limits), and the number of runs waiting
  per handler is recorded (RunsWaiting).
- A WAITING run (overlap policy queue_one) whose job has no active run any more becomes PENDING
  (the worker that ended the active run normally does this; it may have died first). A WAITING
  run whose job is gone (deleted) is CANCELLED: nothing would ever start it.
- A WAITING or PENDING run never started by its expires_at ends EXPIRED.
- A PENDING run whose message was never sent (the sender died, or SQS refused) is sent again;
  so is a run delayed (run_at / delay_seconds) past SQS's 15 minutes, once its time is that near,
  and a debounced run once its start has come (it is never sent before: a later request of its
  window may still move it).
  Rows younger than the policy's grace are left alone: their sender may still be at work.
- Cron slots whose run has not started, or finished, in the time its job allows get their MISSED or
  LATE notifications (jobu.cron_alerts), once per slot.
- Notifications of the outbox not delivered yet (their deliverer died, or the destination was
  down: a retry's time has come) are delivered (jobu.notifications).
- A PENDING run whose message was sent more than the policy's stuck_after ago and never claimed
  is sent again too: that message is gone (dead-lettered after the database was down for each of its
  receives, or purged). A duplicate message is harmless: the claim lets one through.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from jobu import cron_alerts
from jobu.config import RetryPolicy, SweepPolicy
from jobu.errors import StoreUnavailableError, TransactionConflictError
from jobu.models import Execution, ExecutionStatus
from jobu.notifications import deliver_due
from jobu.observability import ABANDONED, EXPIRED, REQUEUED, TICK_PART_FAILED, count, logger
from jobu.retries import CANCELLED_REASON, JOB_DELETED_REASON, settle_failure
from jobu.run_metrics import runs_waiting
from jobu.store import JobStore
from jobu.work_queue import MAX_DELAY_SECONDS, QueuedRun, WorkQueue, enqueue, ready_runs

SWEEP_LIMIT = 1000


@dataclass
class SweepReport:
    abandoned: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)
    notified: list[int] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # the parts that raised (logged, counted)


async def isolated(part: str, work: Awaitable[object], failed: list[str]) -> None:
    """Await one part of a tick; if it raises, log and count it (TickPartFailures) and append
    `part` to `failed` instead, so the tick's other parts still run: one bad row must not stop
    every tick. An unreachable database is raised: only that fails an invocation (a deadlock that
    outlasted the connector's attempts is a failed part, not an unreachable database)."""
    try:
        await work
    except TransactionConflictError as error:  # still in conflict after the connector's attempts
        _failed(part, error, failed)
    except StoreUnavailableError:
        raise
    except Exception as error:  # any other: the rest of the tick goes on
        _failed(part, error, failed)


def _failed(part: str, error: Exception, failed: list[str]) -> None:
    logger.error(
        "a part of the tick failed; its other parts go on",
        extra={"part": part, "error": f"{type(error).__name__}: {error}"},
        exc_info=error,
    )
    count(TICK_PART_FAILED)
    failed.append(part)


def _unbounded() -> float:
    return float("inf")


async def sweep(
    store: JobStore,
    queue: WorkQueue,
    *,
    now: datetime,
    policy: SweepPolicy,
    retry_policy: RetryPolicy,
    time_left: Callable[[], float] = _unbounded,
) -> SweepReport:
    """The repairs; the re-sending pages through the whole backlog while `time_left()` (the
    seconds the sweep may still use) is above zero."""
    report = SweepReport()
    retries: list[QueuedRun] = []
    abandoned = _abandoned(store, report, retries, now=now, policy=retry_policy)
    await isolated("abandoned", abandoned, report.failed)
    await isolated("promote", _promote(store, retries, now=now), report.failed)
    await isolated("limits", _promote_limited(store, retries, now=now), report.failed)
    await isolated("expire", _expire(store, retries, now=now), report.failed)
    resend = _resend(store, queue, report, retries, now=now, policy=policy, time_left=time_left)
    await isolated("resend", resend, report.failed)
    await isolated("alerts", _alerts(store, now=now), report.failed)
    await isolated("notifications", _notify(store, report, now=now), report.failed)
    return report


async def _alerts(store: JobStore, *, now: datetime) -> None:
    await cron_alerts.check(store, now=now)


async def _notify(store: JobStore, report: SweepReport, *, now: datetime) -> None:
    delivered = await deliver_due(store, now=now)
    report.notified = delivered.delivered


async def _abandoned(
    store: JobStore, report: SweepReport, retries: list[QueuedRun], *, now: datetime, policy: RetryPolicy
) -> None:
    for execution in await store.runs.stale_running(now=now, limit=SWEEP_LIMIT):
        logger.warning(
            "run abandoned by its worker: past its deadline while RUNNING",
            extra={
                "execution_id": execution.id,
                "job_id": execution.job_id,
                "handler_name": execution.handler_name,
            },
        )
        deadline = f"{execution.deadline_at:%Y-%m-%dT%H:%M:%SZ}"
        error = f"the worker stopped before the run finished (deadline {deadline})"
        cancelled = execution.cancel_requested_at is not None  # it was being cancelled: it ends so
        sent = await settle_failure(  # its retry, or the WAITING run its end promoted
            store,
            execution,
            status=ExecutionStatus.CANCELLED if cancelled else ExecutionStatus.TIMEOUT,
            error=f"{CANCELLED_REASON}; {error}" if cancelled else error,
            result=None,
            now=now,
            policy=policy,
            retryable=not cancelled,
        )
        retries += sent
        report.abandoned.append(execution.id)
    count(ABANDONED, len(report.abandoned))


async def _promote(store: JobStore, retries: list[QueuedRun], *, now: datetime) -> None:
    """queue_one: a WAITING run whose active run ended while no worker was there to start it."""
    orphans = await store.runs.cancel_orphaned_waiting(reason=JOB_DELETED_REASON, now=now)
    if orphans:
        logger.warning("cancelled WAITING runs whose cron job is gone", extra={"runs": orphans})
    for job_id in await store.runs.jobs_with_promotable(limit=SWEEP_LIMIT):
        promoted = await store.runs.promote_waiting(job_id, now=now)
        retries += ready_runs([promoted], now)


async def _promote_limited(store: JobStore, retries: list[QueuedRun], *, now: datetime) -> None:
    """The waiting lines of handlers with limits: a run whose run_at or rate time has come near, or
    a slot freed by a run no end handed over (one admitted before the limit was set; a worker that
    died between the end and the send leaves its runs PENDING and unsent: `_resend` sends them)."""
    for handler_name in await store.limits.handlers_with_queued(now=now, limit=SWEEP_LIMIT):
        released = await store.limits.promote(handler_name, now=now)
        retries += ready_runs(released, now)
    for handler_name, waiting in (await store.limits.waiting_per_handler()).items():
        runs_waiting(handler_name, waiting)


async def _expire(store: JobStore, retries: list[QueuedRun], *, now: datetime) -> None:
    """A WAITING or PENDING run never started by its expires_at ends EXPIRED, sent or not; the slots
    of its handler's limits it held go to the runs that wait."""
    released: list[Execution] = []
    count(EXPIRED, await store.runs.expire_due(now=now, released=released))
    retries += ready_runs(released, now)


async def _resend(
    store: JobStore,
    queue: WorkQueue,
    report: SweepReport,
    retries: list[QueuedRun],
    *,
    now: datetime,
    policy: SweepPolicy,
    time_left: Callable[[], float],
) -> None:
    """A page of SWEEP_LIMIT unsent, stuck and delayed runs at a time: a sent run leaves the lists
    (its queued_at is now), so the next page holds the next ones. Until the backlog is gone, a page
    sends nothing (SQS refuses), or the sweep's time is up."""
    # runs delayed past what SQS can delay: each is sent once its time is within SQS's delay
    horizon = now + timedelta(seconds=MAX_DELAY_SECONDS)
    while True:
        pages = [
            await store.runs.unqueued(cutoff=now - policy.grace, limit=SWEEP_LIMIT),
            await store.runs.stuck(cutoff=now - policy.stuck_after, limit=SWEEP_LIMIT),
            await store.runs.delayed_due(cutoff=now - policy.grace, horizon=horizon, limit=SWEEP_LIMIT),
            # debounced runs, unsent until their start (a later request could still move it); its
            # handler's limits may keep one waiting then
            await store.limits.hand_over(await store.debounce.due(now=now, limit=SWEEP_LIMIT), now=now),
        ]
        unsent = [execution for page in pages for execution in page]
        runs = [QueuedRun.for_execution(e, math.ceil((e.available_at - now).total_seconds())) for e in unsent]
        sent = set((await enqueue(store, queue, runs + retries, now=now)).sent)
        retries = []
        resent = [run.execution_id for run in runs if run.execution_id in sent]
        report.requeued += resent
        full = any(len(page) == SWEEP_LIMIT for page in pages)
        if not (full and resent) or time_left() <= 0:
            break
    count(REQUEUED, len(report.requeued))
    if report.requeued:
        logger.warning(
            "re-sent runs whose message was lost or never sent", extra={"execution_ids": report.requeued}
        )
