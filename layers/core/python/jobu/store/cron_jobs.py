"""The store's cron jobs (the cron_jobs table): definitions, pause, and the tick's chunk.

A tick chunk is one transaction of four statements for up to `limit` due jobs: lock them, insert
their runs, move them to their next slot, read the runs back (sql/<backend>/cron_jobs.sql and
runs.sql).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobu.models import CronJob, DueCronJob, RunRef
from jobu.store.connector import Connector
from jobu.store.limits import HandlerLimits
from jobu.store.rows import Rows, row_to, rows_to

if TYPE_CHECKING:  # an operator's definition, validated by the admin side (pydantic never loads here)
    from jobu.specs import CronJobSpec


@dataclass(frozen=True)
class SlotPlan:
    """What a tick does with one due job: create runs for `slots`, then move it to `next_run_at`."""

    job: DueCronJob
    slots: list[datetime]
    next_run_at: datetime


@dataclass(frozen=True)
class Revision:
    """What an update makes of a job: its new definition and next run."""

    spec: CronJobSpec
    next_run_at: datetime | None


@dataclass(frozen=True)
class CronChunk:
    plans: list[SlotPlan]
    runs: list[RunRef]
    # due jobs may be left: the chunk was full, or its runs budget left locked jobs untaken
    more: bool = False


class CronJobs(Rows):
    def __init__(self, connector: Connector, limits: HandlerLimits) -> None:
        super().__init__(connector)
        self.limits = limits

    def _fields(self, spec: CronJobSpec, next_run_at: datetime | None, now: datetime) -> dict[str, Any]:
        """A job's columns as insert_cron_job and update_cron_job bind them."""
        return {
            **spec.model_dump(exclude={"handler_params", "tags"}),
            "handler_params": self._j(spec.handler_params),
            "tags": self._j(spec.tags or None),
            "next_run_at": self._t(next_run_at),
            "now": self._t(now),
        }

    async def insert(
        self, spec: CronJobSpec, *, next_run_at: datetime | None, now: datetime, conn: Any = None
    ) -> CronJob:
        async with self._connection(conn) as c:
            job_id = await self._q.insert_cron_job(c, **self._fields(spec, next_run_at, now))
            await self._q.set_cron_job_alerts(c, id=int(job_id), **self._alerts(spec))
            job = await self.get(int(job_id), conn=c)
        assert job is not None  # just inserted
        return job

    async def set_alerts(self, job_id: int, spec: CronJobSpec, *, conn: Any = None) -> None:
        """The job's missed/late alerts as `spec` has them (jobu.cron_alerts)."""
        await self._update("set_cron_job_alerts", conn=conn, id=job_id, **self._alerts(spec))

    @staticmethod
    def _alerts(spec: CronJobSpec) -> dict[str, int | None]:
        return {
            "started_within": spec.alert_if_not_started_within,
            "finished_within": spec.alert_if_not_finished_within,
        }

    async def alerted(self) -> list[CronJob]:
        """The jobs with a missed or late alert (few: a tick reads them all)."""
        return rows_to(CronJob, await self._select("alerted_cron_jobs"))

    async def get(self, job_id: int, *, conn: Any = None) -> CronJob | None:
        return row_to(CronJob, await self._select_one("get_cron_job", conn=conn, id=job_id))

    async def get_by_name(self, name: str, *, conn: Any = None) -> CronJob | None:
        return row_to(CronJob, await self._select_one("get_cron_job_by_name", conn=conn, name=name))

    async def count(self, *, is_enabled: bool | None) -> int:
        return int(await self._select_one("count_cron_jobs", is_enabled=is_enabled))

    async def page(self, *, is_enabled: bool | None, limit: int, offset: int) -> list[CronJob]:
        rows = await self._select("page_cron_jobs", is_enabled=is_enabled, limit=limit, offset=offset)
        return rows_to(CronJob, rows)

    async def for_events(self, job_ids: Sequence[int], handler_names: Sequence[str]) -> list[CronJob]:
        """The jobs a Kafka batch names by id, and the oldest job of each handler it names."""
        rows = await self._select(
            "cron_jobs_for_events", job_ids=self._j(list(job_ids)), handler_names=self._j(list(handler_names))
        )
        return rows_to(CronJob, rows)

    async def update(
        self, job_id: int, change: Callable[[CronJob], Revision], *, now: datetime, conn: Any = None
    ) -> CronJob | None:
        """Read the job with its row locked, write back what `change` makes of it, in one
        transaction (the caller's, given `conn`): concurrent updates (and toggles) apply one after
        the other, none loses another's fields. None when the job does not exist; `change` may
        raise to write nothing (DuplicateError on a taken name)."""

        async def revise(tx: Any) -> CronJob | None:
            job = await self.get_for_update(job_id, conn=tx)
            if job is None:
                return None
            revision = change(job)
            fields = self._fields(revision.spec, revision.next_run_at, now)
            await self._q.update_cron_job(tx, id=job_id, **fields)
            return CronJob.from_row(await self._q.get_cron_job(tx, id=job_id))

        return await self._in_transaction(conn, revise)

    async def get_for_update(self, job_id: int, *, conn: Any) -> CronJob | None:
        """The job, its row locked until the end of the caller's transaction `conn`."""
        return row_to(CronJob, await self._q.get_cron_job_for_update(conn, id=job_id))

    async def set_enabled(
        self, job: CronJob, *, enabled: bool | None, next_run_at: datetime, now: datetime, conn: Any = None
    ) -> bool:
        """Enable, disable or (enabled None) toggle the job in one statement; `next_run_at` (the
        next slot of the job's expression and zone as read) becomes its next run if it ends up
        enabled. False when the job is gone or its expression or zone changed since `job` was read."""
        changed = await self._update(
            "set_cron_job_enabled_by_id",
            conn=conn,
            id=job.id,
            is_enabled=enabled,
            next_run_at=self._t(next_run_at),
            cron_expression=job.cron_expression,
            timezone=job.timezone,
            now=self._t(now),
        )
        return changed > 0

    async def delete(self, job_id: int, *, reason: str, now: datetime, conn: Any = None) -> bool:
        """Delete the job, and cancel its WAITING run (queue_one) in the same transaction (the
        caller's, given `conn`): with the job gone nothing would ever promote it. Its other runs
        stay, with job_id cleared (the foreign key's ON DELETE SET NULL), and end as they would have.
        The job's row is locked first, so a tick or a run-now making a WAITING run (both under that
        lock) is before or after. False when the job does not exist."""

        async def delete(tx: Any) -> bool:
            if await self._q.lock_cron_job(tx, job_id=job_id) is None:
                return False
            await self._q.cancel_waiting_runs_of_job(tx, job_id=job_id, reason=reason, now=self._t(now))
            return self.connector.affected_rows(await self._q.delete_cron_job_by_id(tx, id=job_id)) > 0

        return await self._in_transaction(conn, delete)

    async def pause(self, job_id: int, *, until: datetime | None, now: datetime, conn: Any = None) -> bool:
        until_at, at = self._t(until), self._t(now)
        return await self._update("pause_cron_job", conn=conn, id=job_id, paused_until=until_at, now=at) > 0

    async def resume(self, job_id: int, *, now: datetime, conn: Any = None) -> bool:
        return await self._update("resume_cron_job", conn=conn, id=job_id, now=self._t(now)) > 0

    async def dispatch_due(
        self,
        *,
        tick: datetime,
        limit: int,
        plan: Callable[[DueCronJob], SlotPlan],
        now: datetime,
        wait_seconds: int | None = None,
        runs_limit: int | None = None,
    ) -> CronChunk:
        """One chunk of the tick, in one transaction: lock up to `limit` due jobs (another tick
        skips them), create the runs `plan` decides for each (the job's overlap policy applied in
        SQL), move each job to its next slot. Returns the jobs and their runs, whatever their status.
        Run again from the start when the database rolled it back (a deadlock) or its connection
        broke: the slot key and each move's expected next_run_at make a second run harmless.

        With `wait_seconds`, the due jobs another transaction holds are waited for (at most that
        long, then TransactionConflictError) instead of skipped.

        With `runs_limit`, jobs are planned one after the other until their runs reach it (the
        first job always taken): catch-up `all` can give a job a thousand slots, and a chunk is
        bounded by the runs it writes, in time and memory, not by the jobs it locks. The jobs not
        taken stay due, unlocked at commit, for the next chunk."""

        async def chunk(conn: Any) -> CronChunk:
            if wait_seconds is None:
                rows = [
                    row async for row in self._q.lock_due_cron_jobs(conn, tick=self._t(tick), limit=limit)
                ]
            else:
                rows = await self._lock_due_waiting(conn, tick=tick, limit=limit, seconds=wait_seconds)
            plans = _within_budget(rows, plan, runs_limit)
            slots = self._slots([(p.job.id, slot) for p in plans for slot in p.slots])
            if slots:
                await self._q.insert_cron_runs(
                    conn, slots=self._j(slots), param_source="cron", now=self._t(now)
                )
            moves = [
                {
                    "id": p.job.id,
                    "next_run_at": self.connector.encode_json_time(p.next_run_at),
                    "expected": self.connector.encode_json_time(p.job.next_run_at),
                }
                for p in plans
                if p.job.next_run_at is not None
            ]
            if moves:
                await self._q.advance_cron_jobs(conn, jobs=self._j(moves), now=self._t(now))
            runs = [row async for row in self._q.runs_for_slots(conn, slots=self._j(slots))] if slots else []
            if runs:  # the new runs of handlers with limits wait in their line, unless they fit
                fresh = [RunRef.from_row(row) for row in runs]
                admission = await self.limits.admit(
                    conn,
                    [
                        (r.id, r.handler_name)
                        for r in fresh
                        if r.status.value == "PENDING" and r.queued_at is None
                    ],
                    now=now,
                )
                if admission.held or admission.promoted:
                    runs = [row async for row in self._q.runs_for_slots(conn, slots=self._j(slots))]
            more = len(rows) == limit or len(plans) < len(rows)
            return CronChunk(plans=plans, runs=rows_to(RunRef, runs), more=more)

        # a deadlock with another tick, or a connection a restart broke: the chunk runs again (a
        # wait that timed out only once more: the tick has other work and a deadline)
        return await self.connector.run(
            chunk, transaction=True, conflict_attempts=5 if wait_seconds is None else 2
        )

    async def _lock_due_waiting(self, conn: Any, *, tick: datetime, limit: int, seconds: int) -> list[Any]:
        await self._q.bound_lock_wait(conn, seconds=seconds)
        try:
            rows = [
                row async for row in self._q.lock_due_cron_jobs_waiting(conn, tick=self._t(tick), limit=limit)
            ]
        except BaseException:
            with contextlib.suppress(Exception):  # PostgreSQL's ends with the failed transaction
                await self._q.unbound_lock_wait(conn)
            raise
        await self._q.unbound_lock_wait(conn)
        return rows


def _within_budget(
    rows: list[Any], plan: Callable[[DueCronJob], SlotPlan], runs_limit: int | None
) -> list[SlotPlan]:
    """The plans of the first rows whose slots fit in `runs_limit` (at least one row's)."""
    plans: list[SlotPlan] = []
    planned = 0
    for row in rows:
        job_plan = plan(DueCronJob.from_row(row))
        if plans and runs_limit is not None and planned + len(job_plan.slots) > runs_limit:
            break
        plans.append(job_plan)
        planned += len(job_plan.slots)
    return plans
