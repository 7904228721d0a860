"""The store's cron jobs (the cron_jobs table): definitions, pause, and the tick's chunk.

A tick chunk is one transaction of four statements for up to `limit` due jobs: lock them, insert
their runs, move them to their next slot, read the runs back (sql/<backend>/cron_jobs.sql and
runs.sql).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobu.models import CronJob, DueCronJob, RunRef
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
class CronChunk:
    plans: list[SlotPlan]
    runs: list[RunRef]


class CronJobs(Rows):
    def _fields(self, spec: CronJobSpec, next_run_at: datetime | None, now: datetime) -> dict[str, Any]:
        """A job's columns as insert_cron_job and update_cron_job bind them."""
        return {
            **spec.model_dump(exclude={"handler_params"}),
            "handler_params": self._j(spec.handler_params),
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
        self, job_id: int, spec: CronJobSpec, *, next_run_at: datetime | None, now: datetime, conn: Any = None
    ) -> bool:
        """Replace every field of the job; False when it does not exist (DuplicateError on a taken name)."""
        fields = self._fields(spec, next_run_at, now)
        return await self._update("update_cron_job", conn=conn, id=job_id, **fields) > 0

    async def set_enabled(
        self, job_id: int, *, enabled: bool, next_run_at: datetime | None, now: datetime, conn: Any = None
    ) -> bool:
        changed = await self._update(
            "set_cron_job_enabled_by_id",
            conn=conn,
            id=job_id,
            is_enabled=enabled,
            next_run_at=self._t(next_run_at),
            now=self._t(now),
        )
        return changed > 0

    async def delete(self, job_id: int, *, reason: str, now: datetime, conn: Any = None) -> bool:
        """Delete the job, and cancel its WAITING run (queue_one) in the same transaction (the
        caller's, given `conn`): with the job gone nothing would ever promote it. Its other runs
        stay, with job_id cleared (the foreign key's ON DELETE SET NULL), and end as they would have.
        The job's row is locked first, so a tick or a run-now making a WAITING run (both under that
        lock) is before or after. False when the job does not exist."""
        async with self._transaction(conn) as tx:
            if await self._q.lock_cron_job(tx, job_id=job_id) is None:
                return False
            await self._q.cancel_waiting_runs_of_job(tx, job_id=job_id, reason=reason, now=self._t(now))
            deleted = await self._q.delete_cron_job_by_id(tx, id=job_id)
        return self.connector.affected_rows(deleted) > 0

    async def pause(self, job_id: int, *, until: datetime | None, now: datetime, conn: Any = None) -> bool:
        until_at, at = self._t(until), self._t(now)
        return await self._update("pause_cron_job", conn=conn, id=job_id, paused_until=until_at, now=at) > 0

    async def resume(self, job_id: int, *, now: datetime, conn: Any = None) -> bool:
        return await self._update("resume_cron_job", conn=conn, id=job_id, now=self._t(now)) > 0

    async def dispatch_due(
        self, *, tick: datetime, limit: int, plan: Callable[[DueCronJob], SlotPlan], now: datetime
    ) -> CronChunk:
        """One chunk of the tick, in one transaction: lock up to `limit` due jobs (another tick
        skips them), create the runs `plan` decides for each (the job's overlap policy applied in
        SQL), move each job to its next slot. Returns the jobs and their runs, whatever their status.
        Run again from the start when the database rolled it back (a deadlock) or its connection
        broke: the slot key and each move's expected next_run_at make a second run harmless."""

        async def chunk(conn: Any) -> CronChunk:
            rows = [row async for row in self._q.lock_due_cron_jobs(conn, tick=self._t(tick), limit=limit)]
            plans = [plan(DueCronJob.from_row(row)) for row in rows]
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
            return CronChunk(plans=plans, runs=rows_to(RunRef, runs))

        # a deadlock with another tick, or a connection a restart broke: the chunk runs again
        return await self.connector.run(chunk, transaction=True)
