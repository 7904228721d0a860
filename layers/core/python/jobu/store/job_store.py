"""The job store: every read and write jobu makes, written once over a Connector.

Methods take and return pydantic models; the connector encodes values for its driver. Each
method that must be atomic runs in one transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from jobu.models import (
    CronJob,
    CronJobSpec,
    DueCronJob,
    Execution,
    ExecutionStatus,
    ExecutionSummary,
    NewExecution,
    OverlapPolicy,
    RejectedEvent,
    RejectedEventSummary,
    RunRef,
)
from jobu.store.connector import Connector
from jobu.store.migrations import apply_migrations


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


@dataclass(frozen=True)
class Finished:
    """What finish_execution did: whether the run was still RUNNING at that attempt (and so is
    now final), and the follow-up run it created."""

    finished: bool
    follow_up: Execution | None


def _rows_to(model: Any, rows: Sequence[Any]) -> list[Any]:
    return [model.model_validate(dict(row)) for row in rows]


class JobStore:
    def __init__(self, connector: Connector) -> None:
        self.connector = connector
        self._q = connector.jobu_queries

    @property
    def backend(self) -> str:
        return self.connector.backend

    async def open(self) -> None:
        await self.connector.open()

    async def close(self) -> None:
        await self.connector.close()

    async def migrate(self, schema_dir: Path | None = None) -> list[str]:
        return await apply_migrations(self.connector, schema_dir)

    def _t(self, value: datetime | None) -> Any:
        return self.connector.encode_time(value)

    def _j(self, value: Any) -> Any:
        return self.connector.encode_json(value)

    @asynccontextmanager
    async def _connection(self, conn: Any) -> AsyncIterator[Any]:
        """`conn` when the caller already holds one, else one from the pool."""
        if conn is not None:
            yield conn
        else:
            async with self.connector.connection() as lent:
                yield lent

    @asynccontextmanager
    async def _transaction(self, conn: Any) -> AsyncIterator[Any]:
        """`conn` when the caller already holds a transaction, else a new one."""
        if conn is not None:
            yield conn
        else:
            async with self.connector.transaction() as tx:
                yield tx

    async def _select(self, query: str, **params: Any) -> list[Any]:
        async with self.connector.connection() as conn:
            return [row async for row in getattr(self._q, query)(conn, **params)]

    async def _select_one(self, query: str, **params: Any) -> Any:
        async with self.connector.connection() as conn:
            return await getattr(self._q, query)(conn, **params)

    async def _update(self, query: str, **params: Any) -> int:
        async with self.connector.connection() as conn:
            return self.connector.affected_rows(await getattr(self._q, query)(conn, **params))

    # cron jobs ---------------------------------------------------------------------------------

    def _cron_job_fields(
        self, spec: CronJobSpec, next_run_at: datetime | None, now: datetime
    ) -> dict[str, Any]:
        """A job's columns as insert_cron_job and update_cron_job bind them."""
        return {
            **spec.model_dump(exclude={"handler_params"}),
            "handler_params": self._j(spec.handler_params),
            "next_run_at": self._t(next_run_at),
            "now": self._t(now),
        }

    async def insert_cron_job(
        self, spec: CronJobSpec, *, next_run_at: datetime | None, now: datetime
    ) -> CronJob:
        async with self.connector.connection() as conn:
            job_id = await self._q.insert_cron_job(conn, **self._cron_job_fields(spec, next_run_at, now))
        job = await self.get_cron_job(int(job_id))
        assert job is not None  # just inserted
        return job

    async def get_cron_job(self, job_id: int) -> CronJob | None:
        row = await self._select_one("get_cron_job", id=job_id)
        return None if row is None else CronJob.model_validate(dict(row))

    async def get_cron_job_by_name(self, name: str) -> CronJob | None:
        row = await self._select_one("get_cron_job_by_name", name=name)
        return None if row is None else CronJob.model_validate(dict(row))

    async def list_cron_jobs(self) -> list[CronJob]:
        return _rows_to(CronJob, await self._select("list_cron_jobs"))

    async def cron_jobs_for_events(
        self, job_ids: Sequence[int], handler_names: Sequence[str]
    ) -> list[CronJob]:
        rows = await self._select(
            "cron_jobs_for_events", job_ids=self._j(list(job_ids)), handler_names=self._j(list(handler_names))
        )
        return _rows_to(CronJob, rows)

    async def delete_cron_job(self, name: str) -> bool:
        return await self._update("delete_cron_job", name=name) > 0

    # executions --------------------------------------------------------------------------------

    async def insert_event_executions(
        self, executions: Sequence[NewExecution], *, now: datetime
    ) -> list[Execution]:
        """Insert a Kafka batch with one statement; return its runs that still need queueing.

        A record delivered before is not inserted again; if its message was never sent, it is
        returned again, so a redelivered batch also repairs a failed send.
        """
        if not executions:
            return []
        fields = (
            "job_id",
            "handler_name",
            "params",
            "max_retry",
            "timeout_seconds",
            "source_topic",
            "source_partition",
            "source_offset",
            "params_provenance",
        )
        # a field left out is NULL on every backend; a JSON null would be stored as JSON 'null' on some
        rows = [e.model_dump(include=set(fields), mode="json", exclude_none=True) for e in executions]
        sources = [{k: row[k] for k in ("source_topic", "source_partition", "source_offset")} for row in rows]
        async with self.connector.transaction() as conn:
            await self._q.insert_event_executions(conn, rows=self._j(rows), now=self._t(now))
            found = [r async for r in self._q.unqueued_executions_for_sources(conn, sources=self._j(sources))]
        return _rows_to(Execution, found)

    async def insert_rejected_events(self, rejected: Sequence[dict[str, Any]], *, now: datetime) -> None:
        """Keep records that could not become runs: source_topic/partition/offset, raw_value, reason."""
        if rejected:
            async with self.connector.connection() as conn:
                await self._q.insert_rejected_events(conn, rows=self._j(list(rejected)), now=self._t(now))

    async def mark_queued(self, sent: Sequence[tuple[int, int]], *, now: datetime) -> None:
        """Record that the message for (execution_id, attempt) was sent, if that attempt is current."""
        if sent:
            runs = [{"id": execution_id, "attempt": attempt} for execution_id, attempt in sent]
            await self._update("mark_queued", runs=self._j(runs), now=self._t(now))

    async def get_execution(self, execution_id: int, *, conn: Any = None) -> Execution | None:
        async with self._connection(conn) as c:
            row = await self._q.get_execution(c, id=execution_id)
        return None if row is None else Execution.model_validate(dict(row))

    async def claim_execution(
        self,
        execution_id: int,
        *,
        attempt: int,
        now: datetime,
        deadline_at: datetime,
        margin: timedelta = timedelta(0),
        conn: Any = None,
    ) -> Execution | None:
        """PENDING -> RUNNING for the message's attempt: the claimed run, or None when someone else
        has it (or had it), or it does not exist.

        The run's deadline_at becomes now + its timeout_seconds + `margin`, or `deadline_at` when
        that is earlier. One statement where the database can return the row it updated.
        """
        async with self._connection(conn) as c:
            claimed = await self._q.claim_execution(
                c,
                id=execution_id,
                attempt=attempt,
                now=self._t(now),
                timeout_base=self._t(now + margin),
                deadline_at=self._t(deadline_at),
            )
            if isinstance(claimed, int):  # MySQL: the rows the UPDATE matched, then the row itself
                claimed = await self._q.get_execution(c, id=execution_id) if claimed == 1 else None
        return None if claimed is None else Execution.model_validate(dict(claimed))

    async def finish_execution(
        self,
        execution_id: int,
        *,
        attempt: int,
        status: ExecutionStatus,
        result: Any,
        error_message: str | None,
        now: datetime,
        follow_up: NewExecution | None = None,
        conn: Any = None,
    ) -> Finished:
        """RUNNING -> a final status; with follow_up, create the next run in the same transaction.

        With `conn`, inside that open transaction (a transactional handler's); else in one of its own,
        or, without follow_up, as one statement that needs none.
        """
        outcome = {
            "id": execution_id,
            "attempt": attempt,
            "status": status.value,
            "result": self._j(result),
            "error_message": error_message,
            "now": self._t(now),
        }
        if follow_up is None:
            async with self._connection(conn) as c:
                finished = await self._q.finish_execution(c, **outcome)
            return Finished(finished=self.connector.affected_rows(finished) == 1, follow_up=None)
        async with self._transaction(conn) as tx:
            finished = await self._q.finish_execution(tx, **outcome)
            if self.connector.affected_rows(finished) == 0:
                return Finished(finished=False, follow_up=None)
            child_id = await self._q.insert_child_execution(
                tx,
                job_id=follow_up.job_id,
                handler_name=follow_up.handler_name,
                params=self._j(follow_up.params),
                max_retry=follow_up.max_retry,
                timeout_seconds=follow_up.timeout_seconds,
                parent_execution_id=execution_id,
                now=self._t(now),
            )
            row = await self._q.get_execution(tx, id=int(child_id))
        return Finished(finished=True, follow_up=Execution.model_validate(dict(row)))

    async def retry_execution(
        self,
        execution_id: int,
        *,
        attempt: int,
        error_message: str,
        result: Any,
        available_at: datetime,
        now: datetime,
    ) -> bool:
        """RUNNING -> PENDING with retry_count + 1, runnable from available_at."""
        changed = await self._update(
            "retry_execution",
            id=execution_id,
            attempt=attempt,
            error_message=error_message,
            result=self._j(result),
            available_at=self._t(available_at),
            now=self._t(now),
        )
        return changed == 1

    async def unqueued_executions(self, *, cutoff: datetime, limit: int) -> list[Execution]:
        return _rows_to(
            Execution, await self._select("unqueued_executions", cutoff=self._t(cutoff), limit=limit)
        )

    async def stuck_executions(self, *, cutoff: datetime, limit: int) -> list[Execution]:
        return _rows_to(
            Execution, await self._select("stuck_executions", cutoff=self._t(cutoff), limit=limit)
        )

    async def stale_running_executions(self, *, now: datetime, limit: int) -> list[Execution]:
        return _rows_to(
            Execution, await self._select("stale_running_executions", now=self._t(now), limit=limit)
        )

    async def list_executions(
        self,
        *,
        status: ExecutionStatus | None = None,
        handler_name: str | None = None,
        job_id: int | None = None,
        limit: int = 100,
    ) -> list[Execution]:
        rows = await self._select(
            "list_executions",
            status=None if status is None else status.value,
            handler_name=handler_name,
            job_id=job_id,
            limit=limit,
        )
        return _rows_to(Execution, rows)

    async def list_rejected_events(self, *, limit: int = 100) -> list[RejectedEvent]:
        return _rows_to(RejectedEvent, await self._select("list_rejected_events", limit=limit))

    # admin operations (jobu.operations) --------------------------------------------------------
    # Kept apart from the dispatch, worker and sweeper methods above; their queries are in
    # sql/<backend>/admin.sql and sql/common/admin.sql.

    async def ping(self) -> None:
        """One round trip to the database (readiness)."""
        await self._select_one("ping")

    async def count_cron_jobs(self, *, is_enabled: bool | None) -> int:
        return int(await self._select_one("count_cron_jobs", is_enabled=is_enabled))

    async def page_cron_jobs(self, *, is_enabled: bool | None, limit: int, offset: int) -> list[CronJob]:
        rows = await self._select("page_cron_jobs", is_enabled=is_enabled, limit=limit, offset=offset)
        return _rows_to(CronJob, rows)

    async def update_cron_job(
        self, job_id: int, spec: CronJobSpec, *, next_run_at: datetime | None, now: datetime
    ) -> bool:
        """Replace every field of the job; False when it does not exist (DuplicateError on a taken name)."""
        changed = await self._update(
            "update_cron_job", id=job_id, **self._cron_job_fields(spec, next_run_at, now)
        )
        return changed > 0

    async def set_cron_job_enabled_by_id(
        self, job_id: int, *, enabled: bool, next_run_at: datetime | None, now: datetime
    ) -> bool:
        changed = await self._update(
            "set_cron_job_enabled_by_id",
            id=job_id,
            is_enabled=enabled,
            next_run_at=self._t(next_run_at),
            now=self._t(now),
        )
        return changed > 0

    async def delete_cron_job_by_id(self, job_id: int) -> bool:
        return await self._update("delete_cron_job_by_id", id=job_id) > 0

    async def insert_manual_execution(
        self, run: NewExecution, *, overlap_policy: OverlapPolicy, now: datetime
    ) -> Execution | None:
        """Create a run of a cron job now (param_source 'manual') under the job's overlap policy:
        'skip': None while a run of the job is active; 'queue_one': WAITING behind an active run,
        None if one waits already. The check and the insert share one transaction."""
        status = ExecutionStatus.PENDING
        async with self.connector.transaction() as conn:
            if overlap_policy != "allow":
                await self._q.lock_cron_job(conn, job_id=run.job_id)
                active = int(await self._q.count_active_runs(conn, job_id=run.job_id))
                waiting = int(await self._q.has_waiting_run(conn, job_id=run.job_id))
                if (overlap_policy == "skip" and active) or waiting:
                    return None
                if active:
                    status = ExecutionStatus.WAITING
            run_id = await self._q.insert_manual_execution(
                conn,
                job_id=run.job_id,
                handler_name=run.handler_name,
                status=status.value,
                params=self._j(run.params),
                max_retry=run.max_retry,
                timeout_seconds=run.timeout_seconds,
                params_provenance=self._j(run.params_provenance),
                now=self._t(now),
            )
            row = await self._q.get_execution(conn, id=int(run_id))
        return Execution.model_validate(dict(row))

    def bind_run_filter(
        self,
        *,
        job_id: int | None,
        statuses: Sequence[ExecutionStatus] | None,
        handler_name: str | None,
        from_date: datetime | None,
        to_date: datetime | None,
    ) -> dict[str, Any]:
        """The run history's filter as its queries bind it (None: any); jobu.store.statistics
        filters with the same."""
        return {
            "job_id": job_id,
            "statuses": None if statuses is None else self._j([status.value for status in statuses]),
            "handler_name": handler_name,
            "from_date": self._t(from_date),
            "to_date": self._t(to_date),
        }

    async def count_executions(self, **run_filter: Any) -> int:
        """Runs matching job_id, statuses, handler_name, from_date and to_date (None: any)."""
        return int(await self._select_one("count_executions", **self.bind_run_filter(**run_filter)))

    async def page_executions(self, *, limit: int, offset: int, **run_filter: Any) -> list[ExecutionSummary]:
        """A page of the runs count_executions counts, newest first."""
        rows = await self._select(
            "page_executions", limit=limit, offset=offset, **self.bind_run_filter(**run_filter)
        )
        return _rows_to(ExecutionSummary, rows)

    async def get_execution_detail(self, execution_id: int) -> tuple[Execution, str | None] | None:
        """The run and the name of its cron job (None when the job is gone or there is none)."""
        row = await self._select_one("execution_detail", id=execution_id)
        if row is None:
            return None
        fields = dict(row)
        return Execution.model_validate(fields), fields.get("cron_name")

    async def get_execution_summary(self, execution_id: int) -> ExecutionSummary | None:
        row = await self._select_one("execution_summary", id=execution_id)
        return None if row is None else ExecutionSummary.model_validate(dict(row))

    async def execution_children(self, execution_id: int, *, limit: int) -> list[ExecutionSummary]:
        return _rows_to(
            ExecutionSummary, await self._select("execution_children", id=execution_id, limit=limit)
        )

    async def execution_for_source(self, topic: str, partition: int, offset: int) -> Execution | None:
        row = await self._select_one(
            "execution_for_source", source_topic=topic, source_partition=partition, source_offset=offset
        )
        return None if row is None else Execution.model_validate(dict(row))

    async def retry_finished_executions(
        self, execution_ids: Sequence[int], *, now: datetime
    ) -> list[Execution]:
        """FAILED/TIMEOUT -> PENDING with retry_count + 1 for those of the runs still in one of those
        states; returns the runs now waiting for their message (what the caller must queue)."""
        if not execution_ids:
            return []
        ids = self._j(list(execution_ids))
        async with self.connector.transaction() as conn:
            await self._q.retry_finished_executions(conn, ids=ids, now=self._t(now))
            rows = [row async for row in self._q.unqueued_executions_by_ids(conn, ids=ids)]
        return _rows_to(Execution, rows)

    async def delete_finished_execution(self, execution_id: int) -> bool:
        """Delete a run that can no longer start or run; False when none such exists."""
        return await self._update("delete_finished_execution", id=execution_id) > 0

    async def count_rejected_events(self) -> int:
        return int(await self._select_one("count_rejected_events"))

    async def page_rejected_events(self, *, limit: int, offset: int) -> list[RejectedEventSummary]:
        rows = await self._select("page_rejected_events", limit=limit, offset=offset)
        summaries = []
        for row in rows:
            fields = dict(row)
            preview = fields.pop("raw_preview") or ""
            summaries.append(
                RejectedEventSummary(**fields, raw_preview=preview[:200], raw_truncated=len(preview) > 200)
            )
        return summaries

    async def get_rejected_event(self, rejected_id: int) -> RejectedEvent | None:
        row = await self._select_one("get_rejected_event", id=rejected_id)
        return None if row is None else RejectedEvent.model_validate(dict(row))

    async def delete_rejected_event(self, rejected_id: int) -> bool:
        return await self._update("delete_rejected_event", id=rejected_id) > 0

    # scheduling: the tick, backfill, cancel, queue_one, pause, retention -------------------------

    async def dispatch_due_cron_jobs(
        self, *, tick: datetime, limit: int, plan: Callable[[DueCronJob], SlotPlan], now: datetime
    ) -> CronChunk:
        """One chunk of the tick, in one transaction: lock up to `limit` due jobs (another tick
        skips them), create the runs `plan` decides for each (the job's overlap policy applied in
        SQL), move each job to its next slot. Returns the jobs and their runs, whatever their status."""
        async with self.connector.transaction() as conn:
            rows = [row async for row in self._q.lock_due_cron_jobs(conn, tick=self._t(tick), limit=limit)]
            plans = [plan(DueCronJob.model_validate(dict(row))) for row in rows]
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
        return CronChunk(plans=plans, runs=_rows_to(RunRef, runs))

    def _slots(self, pairs: Sequence[tuple[int, datetime]]) -> list[dict[str, Any]]:
        return [
            {"job_id": job_id, "scheduled_time": self.connector.encode_json_time(at)} for job_id, at in pairs
        ]

    async def runs_for_slots(self, job_id: int, slots: Sequence[datetime]) -> list[RunRef]:
        if not slots:
            return []
        encoded = self._j(self._slots([(job_id, slot) for slot in slots]))
        return _rows_to(RunRef, await self._select("runs_for_slots", slots=encoded))

    async def create_backfill_runs(
        self, job_id: int, slots: Sequence[datetime], *, now: datetime
    ) -> list[RunRef]:
        """Runs of the job for `slots` (param_source 'backfill', whatever its overlap policy), each
        once: a slot that has a run already keeps it. Returns the slots' runs."""
        encoded = self._j(self._slots([(job_id, slot) for slot in slots]))
        async with self.connector.transaction() as conn:
            await self._q.insert_cron_runs(conn, slots=encoded, param_source="backfill", now=self._t(now))
            rows = [row async for row in self._q.runs_for_slots(conn, slots=encoded)]
        return _rows_to(RunRef, rows)

    async def cancel_execution(self, execution_id: int, *, reason: str, now: datetime) -> str | None:
        """'cancelled' (it was WAITING or PENDING: it never starts), 'requested' (it is RUNNING: its
        worker cancels it), or None (it is not active)."""
        async with self.connector.transaction() as conn:
            if self.connector.affected_rows(
                await self._q.cancel_unstarted_execution(
                    conn, id=execution_id, reason=reason, now=self._t(now)
                )
            ):
                return "cancelled"
            if self.connector.affected_rows(
                await self._q.request_cancel(conn, id=execution_id, now=self._t(now))
            ):
                return "requested"
        return None

    async def cancel_requested(self, execution_id: int) -> bool:
        return await self._select_one("cancel_requested", id=execution_id) is not None

    async def has_waiting_run(self, job_id: int) -> bool:
        return int(await self._select_one("has_waiting_run", job_id=job_id)) > 0

    async def promote_waiting_run(self, job_id: int, *, now: datetime) -> Execution | None:
        """queue_one: the job's WAITING run becomes PENDING if no run of the job is active any more.
        Under the job row's lock, so a tick creating a WAITING run and a worker ending the active one
        cannot miss each other."""
        async with self.connector.transaction() as conn:
            await self._q.lock_cron_job(conn, job_id=job_id)
            waiting = await self._q.oldest_waiting_run(conn, job_id=job_id)
            if waiting is None:
                return None
            await self._q.promote_run(conn, id=int(waiting), now=self._t(now))
            row = await self._q.get_execution(conn, id=int(waiting))
        return Execution.model_validate(dict(row))

    async def jobs_with_promotable_runs(self, *, limit: int) -> list[int]:
        return [
            int(dict(row)["job_id"]) for row in await self._select("jobs_with_promotable_runs", limit=limit)
        ]

    async def pause_cron_job(self, job_id: int, *, until: datetime | None, now: datetime) -> bool:
        return (
            await self._update("pause_cron_job", id=job_id, paused_until=self._t(until), now=self._t(now)) > 0
        )

    async def resume_cron_job(self, job_id: int, *, now: datetime) -> bool:
        return await self._update("resume_cron_job", id=job_id, now=self._t(now)) > 0

    async def delete_finished_runs(self, *, cutoff: datetime, limit: int) -> int:
        """Delete up to `limit` of the oldest runs that finished before `cutoff`; how many it deleted."""
        return await self._update("delete_finished_runs", cutoff=self._t(cutoff), limit=limit)
