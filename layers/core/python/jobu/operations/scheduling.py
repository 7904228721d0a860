"""Scheduling operations: pause and resume a job, backfill a time range, cancel a run (a
schedule's preview is jobu.operations.schedules). Written once for the admin API, the CLI and the
dashboard (docs/scheduling.md)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from jobu.cron import Schedule
from jobu.errors import InvalidCronJobError, InvalidStateError, NotFoundError
from jobu.models import CronJob, ExecutionStatus, RunRef
from jobu.operations.cron_jobs import get
from jobu.retries import CANCELLED_REASON
from jobu.store import JobStore
from jobu.work_queue import QueuedRun, WorkQueue, enqueue

# A backfill creates at most this many runs in one request (ask again for the rest).
MAX_BACKFILL_SLOTS = 1000


class PauseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    until: datetime | None = Field(default=None, description="resume by itself then; empty: until resumed")


async def pause(store: JobStore, job_id: int, request: PauseRequest, *, now: datetime) -> CronJob:
    """No runs until `until` (or until resumed); then the job's catch-up policy decides what
    happens to the slots passed meanwhile."""
    if request.until is not None and request.until <= now:
        raise InvalidCronJobError(
            f"until must be in the future, not {request.until.isoformat()}", field="until"
        )
    if not await store.pause_cron_job(job_id, until=request.until, now=now):
        raise NotFoundError(f"no cron job with id {job_id}")
    return await get(store, job_id)


async def resume(store: JobStore, job_id: int, *, now: datetime) -> CronJob:
    """End a pause now: the next tick applies the catch-up policy to the slots passed while paused."""
    job = await get(store, job_id)
    if job.paused_at is None:
        raise InvalidStateError(f"cron job {job_id} is not paused")
    await store.resume_cron_job(job_id, now=now)
    return await get(store, job_id)


class BackfillRequest(BaseModel):
    """The slots of the job in [start, end]; a dry run (the default) lists them and creates nothing."""

    model_config = ConfigDict(extra="forbid")

    start: datetime
    end: datetime
    dry_run: bool = True

    @model_validator(mode="after")
    def _ordered(self) -> BackfillRequest:
        if self.end < self.start:
            raise ValueError("end is before start")
        return self


class BackfillSlot(BaseModel):
    scheduled_time: datetime
    run_id: int | None = Field(description="the slot's run, when it has one (before: it existed already)")
    existed: bool = Field(description="the slot had a run before this request: nothing was created for it")


class BackfillResult(BaseModel):
    dry_run: bool
    slots: list[BackfillSlot]
    created: int = Field(description="runs this request created (0 for a dry run)")
    truncated: bool = Field(
        description=f"the range holds more than {MAX_BACKFILL_SLOTS} slots: ask again from the last"
    )


async def backfill(
    store: JobStore, queue: WorkQueue, job_id: int, request: BackfillRequest, *, now: datetime
) -> BackfillResult:
    """Create a run (param_source 'backfill') for each slot of the job in [start, end] that has
    none, and queue it; the dry run lists exactly those slots. Each slot gets one run however often
    this is asked (the unique slot key), whatever the job's overlap policy."""
    job = await get(store, job_id)
    if request.start > now:
        raise InvalidCronJobError(
            "a backfill is for slots that have passed: start is in the future", field="start"
        )
    schedule = Schedule(job.cron_expression, job.timezone)
    slots = schedule.slots_between(request.start, min(request.end, now), limit=MAX_BACKFILL_SLOTS + 1)
    truncated = len(slots) > MAX_BACKFILL_SLOTS
    slots = slots[:MAX_BACKFILL_SLOTS]
    before = {run.scheduled_time: run for run in await store.runs_for_slots(job_id, slots)}
    created: list[RunRef] = []
    if not request.dry_run:
        after = await store.create_backfill_runs(job_id, [s for s in slots if s not in before], now=now)
        created = [run for run in after if run.scheduled_time not in before]
        fresh = [run for run in created if run.status is ExecutionStatus.PENDING and run.queued_at is None]
        await enqueue(store, queue, [QueuedRun.for_execution(run) for run in fresh], now=now)
    runs = {**before, **{run.scheduled_time: run for run in created}}
    return BackfillResult(
        dry_run=request.dry_run,
        slots=[
            BackfillSlot(
                scheduled_time=slot,
                run_id=runs[slot].id if slot in runs else None,
                existed=slot in before,
            )
            for slot in slots
        ],
        created=len(created),
        truncated=truncated,
    )


class CancelResult(BaseModel):
    run_id: int
    outcome: str = Field(
        description="'cancelled': it was WAITING or PENDING and will never start; 'requested': it is "
        "RUNNING and its worker cancels the handler within seconds"
    )


async def cancel(store: JobStore, queue: WorkQueue, run_id: int, *, now: datetime) -> CancelResult:
    """Cancel a run that has not ended. A WAITING or PENDING run becomes CANCELLED now (its message,
    if any, finds it so and does nothing); a RUNNING one is cancelled by its worker (the handler sees
    asyncio.CancelledError) or, if that worker died, by the sweeper."""
    run = await store.get_execution(run_id)
    if run is None:
        raise NotFoundError(f"no run with id {run_id}")
    outcome = await store.cancel_execution(run_id, reason=CANCELLED_REASON, now=now)
    if outcome is None:
        raise InvalidStateError(
            f"run {run_id} is {run.status.value}: only a run that has not ended can be cancelled"
        )
    if outcome == "cancelled" and run.job_id is not None:
        # a queue_one job's waiting run may start now that this one will not
        promoted = await store.promote_waiting_run(run.job_id, now=now)
        await enqueue(store, queue, [QueuedRun.for_execution(promoted)] if promoted else [], now=now)
    return CancelResult(run_id=run_id, outcome=outcome)
