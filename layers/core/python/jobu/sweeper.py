"""Repairs what a crash can leave behind; run on every cron dispatcher tick.

- A RUNNING run past its deadline belonged to a worker that died (Lambda timeout, out of
  memory): it becomes TIMEOUT, or PENDING again if it has retries left.
- A PENDING run whose message was never sent (the sender died, or SQS refused) is sent again.
  Rows younger than the policy's grace are left alone: their sender may still be at work.
- A PENDING run whose message was sent more than the policy's stuck_after ago and never claimed
  is sent again too: that message is gone (dead-lettered after the database was down for each of its
  receives, or purged). A duplicate message is harmless: the claim lets one through.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from jobu.config import SweepPolicy
from jobu.models import ExecutionStatus
from jobu.observability import ABANDONED, REQUEUED, count, logger
from jobu.retries import settle_failure
from jobu.store import JobStore
from jobu.work_queue import QueuedRun, WorkQueue, enqueue

SWEEP_LIMIT = 1000


class SweepReport(BaseModel):
    abandoned: list[int] = Field(default_factory=list)
    requeued: list[int] = Field(default_factory=list)


async def sweep(store: JobStore, queue: WorkQueue, *, now: datetime, policy: SweepPolicy) -> SweepReport:
    report = SweepReport()
    retries: list[QueuedRun] = []
    for execution in await store.stale_running_executions(now=now, limit=SWEEP_LIMIT):
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
        retry = await settle_failure(
            store, execution, status=ExecutionStatus.TIMEOUT, error=error, result=None, now=now
        )
        retries += [retry] if retry else []
        report.abandoned.append(execution.id)
    count(ABANDONED, len(report.abandoned))

    unsent = await store.unqueued_executions(cutoff=now - policy.grace, limit=SWEEP_LIMIT)
    unsent += await store.stuck_executions(cutoff=now - policy.stuck_after, limit=SWEEP_LIMIT)
    runs = [QueuedRun.for_execution(e, int((e.available_at - now).total_seconds())) for e in unsent]
    sent = await enqueue(store, queue, runs + retries, now=now)
    report.requeued = [run.execution_id for run in runs if run.execution_id in set(sent.sent)]
    count(REQUEUED, len(report.requeued))
    if report.requeued:
        logger.warning(
            "re-sent runs whose message was lost or never sent", extra={"execution_ids": report.requeued}
        )
    return report
