"""Repairs what a crash can leave behind; run on every cron dispatcher tick.

- A RUNNING run past its deadline belonged to a worker that died (Lambda timeout, out of
  memory): it becomes TIMEOUT, or PENDING again if it has retries left; CANCELLED if an operator
  had asked to cancel it.
- A WAITING run (overlap policy queue_one) whose job has no active run any more becomes PENDING
  (the worker that ended the active run normally does this; it may have died first). A WAITING
  run whose job is gone (deleted) is CANCELLED: nothing would ever start it.
- A WAITING or PENDING run never started by its expires_at ends EXPIRED.
- A PENDING run whose message was never sent (the sender died, or SQS refused) is sent again;
  so is a run delayed (run_at / delay_seconds) past SQS's 15 minutes, once its time is that near.
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
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from jobu import cron_alerts
from jobu.config import RetryPolicy, SweepPolicy
from jobu.errors import StoreUnavailableError
from jobu.models import ExecutionStatus
from jobu.notifications import deliver_due
from jobu.observability import ABANDONED, EXPIRED, REQUEUED, TICK_PART_FAILED, count, logger
from jobu.retries import CANCELLED_REASON, JOB_DELETED_REASON, settle_failure
from jobu.store import JobStore
from jobu.work_queue import MAX_DELAY_SECONDS, QueuedRun, WorkQueue, enqueue

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
    every tick. An unreachable database is raised: only that fails an invocation."""
    try:
        await work
    except StoreUnavailableError:
        raise
    except Exception as error:  # any other: the rest of the tick goes on
        logger.exception(
            "a part of the tick failed; its other parts go on",
            extra={"part": part, "error": f"{type(error).__name__}: {error}"},
        )
        count(TICK_PART_FAILED)
        failed.append(part)


async def sweep(
    store: JobStore, queue: WorkQueue, *, now: datetime, policy: SweepPolicy, retry_policy: RetryPolicy
) -> SweepReport:
    report = SweepReport()
    retries: list[QueuedRun] = []
    abandoned = _abandoned(store, report, retries, now=now, policy=retry_policy)
    await isolated("abandoned", abandoned, report.failed)
    await isolated("promote", _promote(store, retries, now=now), report.failed)
    await isolated("expire", _expire(store, now=now), report.failed)
    await isolated("resend", _resend(store, queue, report, retries, now=now, policy=policy), report.failed)
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
        retry = await settle_failure(
            store,
            execution,
            status=ExecutionStatus.CANCELLED if cancelled else ExecutionStatus.TIMEOUT,
            error=f"{CANCELLED_REASON}; {error}" if cancelled else error,
            result=None,
            now=now,
            policy=policy,
            retryable=not cancelled,
        )
        retries += [retry] if retry else []
        report.abandoned.append(execution.id)
    count(ABANDONED, len(report.abandoned))


async def _promote(store: JobStore, retries: list[QueuedRun], *, now: datetime) -> None:
    """queue_one: a WAITING run whose active run ended while no worker was there to start it."""
    orphans = await store.runs.cancel_orphaned_waiting(reason=JOB_DELETED_REASON, now=now)
    if orphans:
        logger.warning("cancelled WAITING runs whose cron job is gone", extra={"runs": orphans})
    for job_id in await store.runs.jobs_with_promotable(limit=SWEEP_LIMIT):
        promoted = await store.runs.promote_waiting(job_id, now=now)
        retries += [QueuedRun.for_execution(promoted)] if promoted else []


async def _expire(store: JobStore, *, now: datetime) -> None:
    """A WAITING or PENDING run never started by its expires_at ends EXPIRED, sent or not."""
    count(EXPIRED, await store.runs.expire_due(now=now))


async def _resend(
    store: JobStore,
    queue: WorkQueue,
    report: SweepReport,
    retries: list[QueuedRun],
    *,
    now: datetime,
    policy: SweepPolicy,
) -> None:
    unsent = await store.runs.unqueued(cutoff=now - policy.grace, limit=SWEEP_LIMIT)
    unsent += await store.runs.stuck(cutoff=now - policy.stuck_after, limit=SWEEP_LIMIT)
    # runs delayed past what SQS can delay: each is sent once its time is within SQS's delay
    horizon = now + timedelta(seconds=MAX_DELAY_SECONDS)
    unsent += await store.runs.delayed_due(cutoff=now - policy.grace, horizon=horizon, limit=SWEEP_LIMIT)
    runs = [QueuedRun.for_execution(e, math.ceil((e.available_at - now).total_seconds())) for e in unsent]
    sent = await enqueue(store, queue, runs + retries, now=now)
    report.requeued = [run.execution_id for run in runs if run.execution_id in set(sent.sent)]
    count(REQUEUED, len(report.requeued))
    if report.requeued:
        logger.warning(
            "re-sent runs whose message was lost or never sent", extra={"execution_ids": report.requeued}
        )
