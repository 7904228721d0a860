"""The cron dispatcher's tick: repair what crashes left, then create and queue the due runs."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from jobu.config import SweepPolicy
from jobu.cron import latest_slot_at_or_before, next_slot_after
from jobu.models import Execution
from jobu.observability import DISPATCH_LAG, SCHEDULE_EVENTS_REFUSED, SKIPPED_OVERLAP, count, logger, seconds
from jobu.schedule_event import ScheduleEventRefusedError
from jobu.store import JobStore
from jobu.sweeper import SweepReport, sweep
from jobu.work_queue import WorkQueue, dispatch_new_runs

DUE_JOBS_PER_TICK = 500


class TickReport(BaseModel):
    tick_time: datetime
    dispatched: list[int] = Field(default_factory=list)
    skipped_overlap: list[str] = Field(default_factory=list)
    unsent: list[int] = Field(default_factory=list)
    sweep: SweepReport


async def run_tick(
    store: JobStore, queue: WorkQueue, *, tick_time: datetime, now: datetime, policy: SweepPolicy
) -> TickReport:
    """Create the runs due at `tick_time` (the schedule's time); repair with the clock's `now`."""
    report = TickReport(tick_time=tick_time, sweep=await sweep(store, queue, now=now, policy=policy))
    created: list[Execution] = []
    for job in await store.due_cron_jobs(tick_time, DUE_JOBS_PER_TICK):
        # misfire policy (jobu.cron): one run for the latest slot, however many were missed
        scheduled_time = latest_slot_at_or_before(job.cron_expression, tick_time)
        next_run_at = next_slot_after(job.cron_expression, tick_time)
        advanced, execution = await store.create_cron_run(
            job, scheduled_time=scheduled_time, next_run_at=next_run_at, now=now
        )
        if not advanced:
            continue  # another dispatcher invocation took this tick for the job
        if execution is None:
            report.skipped_overlap.append(job.name)
            logger.info("slot skipped: allow_overlap is false and a run is active", extra={"job_id": job.id})
            continue
        created.append(execution)
        seconds(DISPATCH_LAG, max(0.0, (now - scheduled_time).total_seconds()))
    sent = await dispatch_new_runs(store, queue, created, now=now, message="cron run dispatched")
    report.dispatched = sent.sent
    report.unsent = sorted(sent.failed)
    count(SKIPPED_OVERLAP, len(report.skipped_overlap))
    return report


def refused_event(error: ScheduleEventRefusedError) -> dict[str, str]:
    """The answer to an event that can never succeed: logged and counted, not raised (no retries)."""
    logger.error("schedule event refused", extra={"reason": str(error)})
    count(SCHEDULE_EVENTS_REFUSED)
    return {"refused": str(error)}
