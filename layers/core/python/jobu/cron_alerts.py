"""Missed and late cron slots: a job may say by when, after each slot, its run must have started
(`alert_if_not_started_within`) or finished (`alert_if_not_finished_within`), in seconds. Every tick
looks at each such job's slots whose deadline passed within the last LOOKBACK (never before the job
existed, never while it is disabled or paused) and, for a slot whose run has not started (or does
not exist: the tick did not run, the overlap policy skipped it), or has not finished, writes a
MISSED or LATE notification for each matching rule (jobu.notifications), keyed by the slot: once per
slot and rule, whatever ticks repeat. The sweeper's delivery, in the same tick, sends them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from jobu.cron import Schedule
from jobu.models import CronJob, ExecutionStatus
from jobu.store import JobStore

MISSED = "MISSED"
LATE = "LATE"
LOOKBACK = timedelta(hours=1)
MAX_SLOTS = 60
NOT_STARTED = {ExecutionStatus.WAITING, ExecutionStatus.PENDING}


async def check(store: JobStore, *, now: datetime) -> list[int]:
    """Write the notifications of slots missed or late as of `now`; their ids (new or not)."""
    written: list[int] = []
    for job in await store.cron_jobs.alerted():
        if not job.is_enabled or job.paused_at is not None:
            continue
        for event, within in (
            (MISSED, job.alert_if_not_started_within),
            (LATE, job.alert_if_not_finished_within),
        ):
            if within is not None:
                written += await _check_job(store, job, event, timedelta(seconds=within), now=now)
    return written


async def _check_job(
    store: JobStore, job: CronJob, event: str, within: timedelta, *, now: datetime
) -> list[int]:
    deadline_passed = now - within
    since = max(deadline_passed - LOOKBACK, job.created_at)
    slots = Schedule(job.cron_expression, job.timezone).slots_between(since, deadline_passed, limit=MAX_SLOTS)
    if not slots:
        return []
    runs = {run.scheduled_time: run for run in await store.runs.for_slots(job.id, slots)}
    rules = await store.notifications.rules_for_event(event, job.handler_name)
    written: list[int] = []
    for slot in slots:
        run = runs.get(slot)
        # an EXPIRED run never started: its slot was missed
        waiting = (
            NOT_STARTED | {ExecutionStatus.EXPIRED}
            if event == MISSED
            else NOT_STARTED | {ExecutionStatus.RUNNING}
        )
        if run is not None and run.status not in waiting:
            continue
        for rule_id in rules:
            added = await store.notifications.add(
                rule_id,
                event=event,
                dedup_key=f"job:{job.id}:{slot.isoformat()}:{event}",
                now=now,
                job_id=job.id,
                execution_id=None if run is None else run.id,
                slot=slot,
            )
            if added is not None:
                written.append(added.id)
    return written
