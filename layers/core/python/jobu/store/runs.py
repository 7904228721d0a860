"""The store's runs (the job_executions table): every way a run is created, its claim, its end,
retries, cancel, queue_one promotion, the sweeper's repairs, the run history, retention.

Each method that must be atomic runs in one transaction; a method given `conn` runs inside the
caller's (a transactional handler's).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from jobu.errors import NotFoundError
from jobu.models import (
    MAX_ENQUEUED_BY,
    Execution,
    ExecutionStatus,
    NewExecution,
    OverlapPolicy,
    RunRef,
)
from jobu.store.batches import Batches
from jobu.store.connector import Connector
from jobu.store.limits import HandlerLimits, admitted, to_send
from jobu.store.notifications import Notifications
from jobu.store.rows import Rows, row_to, rows_to

if TYPE_CHECKING:
    from jobu.listings import ExecutionSummary


@dataclass(frozen=True)
class Backfilled:
    """What a backfill found: the slots' runs that existed, and those it created."""

    existing: list[RunRef]
    created: list[RunRef]


# a rate-limited run's message this much before the run's available_at is a stale one
STALE_AFTER = timedelta(milliseconds=500)


@dataclass(frozen=True)
class Deferred:
    """A claim its handler's rate did not let start yet: the run is PENDING again, unsent, from the
    time the rate gives (`run`, to send; None when the run was no longer this claim's)."""

    run: Execution | None


@dataclass(frozen=True)
class Finished:
    """What finish did: whether the run was still RUNNING at that attempt (and so is now final),
    the follow-up run it created, and the queue_one run it promoted (WAITING -> PENDING)."""

    finished: bool
    follow_up: Execution | None
    promoted: Execution | None = None
    notifications: int = 0  # rows written to the outbox with the outcome (jobu.notifications)
    # the callback runs of the run's batch, when its end was the batch's last (jobu.store.batches)
    callbacks: tuple[Execution, ...] = ()
    # the runs the end let through its handler's limits (jobu.store.limits), to send
    released: tuple[Execution, ...] = ()


@dataclass(frozen=True)
class EventInsert:
    """What a Kafka batch's INSERT did: the runs that still need queueing, and the requests that
    made no run because another run holds their idempotency key (by record, the run's id)."""

    pending: list[Execution | RunRef]
    duplicates: dict[str, int | None]


_EVENT_FIELDS = (
    "job_id",
    "handler_name",
    "params",
    "max_retry",
    "timeout_seconds",
    "source_topic",
    "source_partition",
    "source_offset",
    "params_provenance",
    "available_at",
    "expires_at",
    "idempotency_key",
    "idempotency_expires_at",
    "priority",
    "tags",
    "concurrency_key",
)


class Runs(Rows):
    def __init__(
        self, connector: Connector, notifications: Notifications, batches: Batches, limits: HandlerLimits
    ) -> None:
        super().__init__(connector)
        self.notifications = notifications
        self._batches = batches
        self.limits = limits

    # creation -------------------------------------------------------------------------------

    async def insert_events(self, executions: Sequence[NewExecution], *, now: datetime) -> list[Execution]:
        """Insert a Kafka batch with one statement; return its runs that still need queueing.

        A record delivered before is not inserted again; if its message was never sent, it is
        returned again, so a redelivered batch also repairs a failed send.
        """
        pending = (await self.insert_event_requests(executions, now=now)).pending
        # whole rows for the callers that read them (the dispatcher sends what it has)
        found = {run.id: run for run in await self.by_ids([run.id for run in pending])}
        return [found[run.id] for run in pending if run.id in found]

    async def insert_event_requests(
        self, executions: Sequence[NewExecution], *, now: datetime
    ) -> EventInsert:
        """insert_events, and which of the runs were not made because another run holds their
        idempotency key (claimed in the same transaction: two dispatchers cannot both make one)."""
        if not executions:
            return EventInsert([], {})
        rows = [self._event_row(e) for e in executions]
        sources = [{k: row[k] for k in ("source_topic", "source_partition", "source_offset")} for row in rows]
        traces = [
            {
                "source_topic": e.source_topic,
                "source_partition": e.source_partition,
                "source_offset": e.source_offset,
                "trace_parent": e.trace_parent,
            }
            for e in executions
            if e.trace_parent is not None
        ]
        claims: dict[tuple[str, str], dict[str, Any]] = {}
        for row in rows:  # the batch's first request of a key claims it; the others are its duplicates
            if "idempotency_key" in row:
                claims.setdefault((row["handler_name"], row["idempotency_key"]), row)
        duplicates: dict[str, int | None] = {}
        async with self.connector.transaction() as conn:
            if claims:
                keys = [
                    {
                        "handler_name": handler_name,
                        "idempotency_key": key,
                        "claimed_by": row["claimed_by"],
                        "expires_at": row["idempotency_expires_at"],
                    }
                    for (handler_name, key), row in sorted(claims.items())
                ]
                await self._q.claim_idempotency_keys(conn, keys=self._j(keys), now=self._t(now))
            await self._q.insert_event_executions(conn, rows=self._j(rows), now=self._t(now))
            if traces:
                await self._q.set_trace_parents(conn, traces=self._j(traces))
            if claims:
                duplicates = await self._duplicates(conn, rows, sorted(claims))
            found = [r async for r in self._q.unqueued_executions_for_sources(conn, sources=self._j(sources))]
            pending = rows_to(RunRef, found)
            # a run admitted before (its batch delivered again) keeps its slot
            fresh = [(run.id, run.handler_name) for run in pending if run.limit_state is None]
            admission = await self.limits.admit(conn, fresh, now=now)
        return EventInsert(to_send(pending, admission), duplicates)

    async def _duplicates(
        self, conn: Any, rows: Sequence[dict[str, Any]], keys: Sequence[tuple[str, str]]
    ) -> dict[str, int | None]:
        """The requests whose key another request holds, by record, each with the latest run of its key."""
        pairs = [{"handler_name": handler_name, "idempotency_key": key} for handler_name, key in keys]
        held: dict[tuple[str, str], dict[str, Any]] = {}
        async for found in self._q.idempotency_claims(conn, keys=self._j(pairs)):
            claim = dict(found)
            held[(claim["handler_name"], claim["idempotency_key"])] = claim
        duplicates: dict[str, int | None] = {}
        for row in rows:
            holder = held.get((row["handler_name"], row.get("idempotency_key", "")))
            if holder is not None and holder["claimed_by"] != row["claimed_by"]:
                run_id = holder["execution_id"]
                duplicates[row["claimed_by"]] = None if run_id is None else int(run_id)
        return duplicates

    def _event_row(self, execution: NewExecution) -> dict[str, Any]:
        """A run of a Kafka batch as the INSERT unpacks it from one JSON parameter; `claimed_by`
        is its record, which its idempotency claim names."""
        row: dict[str, Any] = {
            "claimed_by": f"{execution.source_topic}:{execution.source_partition}:{execution.source_offset}"
        }
        for name in _EVENT_FIELDS:
            value = getattr(execution, name)
            # a field left out is NULL on every backend; a JSON null would be stored as JSON 'null' on some
            if value is not None:
                row[name] = self.connector.encode_json_time(value) if isinstance(value, datetime) else value
        return row

    async def insert_api(
        self, run: NewExecution, *, enqueued_by: str, now: datetime, conn: Any
    ) -> Execution | int | None:
        """Create a run the admin API was asked for (param_source 'api') by `enqueued_by` (the
        request's principal), in the caller's transaction `conn`: the new run; or, when another
        request holds its idempotency key, the id of the latest run made with that key (None if none
        is left), and no new run."""
        if run.idempotency_key is not None:
            # a token of this attempt only: a transaction run again claims afresh
            claimed_by = f"api:{uuid.uuid4()}"
            key = {"handler_name": run.handler_name, "idempotency_key": run.idempotency_key}
            claim = {
                **key,
                "claimed_by": claimed_by,
                "expires_at": self.connector.encode_json_time(run.idempotency_expires_at or now),
            }
            await self._q.claim_idempotency_keys(conn, keys=self._j([claim]), now=self._t(now))
            async for found in self._q.idempotency_claims(conn, keys=self._j([key])):
                holder = dict(found)
                if holder["claimed_by"] != claimed_by:
                    return None if holder["execution_id"] is None else int(holder["execution_id"])
        run_id = await self._insert_api_row(run, enqueued_by=enqueued_by, now=now, conn=conn)
        await self.limits.admit(conn, [(run_id, run.handler_name)], now=now)
        return Execution.from_row(await self._q.get_execution(conn, id=run_id))

    async def _insert_api_row(self, run: NewExecution, *, enqueued_by: str, now: datetime, conn: Any) -> int:
        run_id = await self._q.insert_api_execution(
            conn,
            handler_name=run.handler_name,
            params=self._j(run.params),
            max_retry=run.max_retry,
            timeout_seconds=run.timeout_seconds,
            available_at=self._t(run.available_at or now),
            params_provenance=self._j(run.params_provenance),
            now=self._t(now),
            priority=run.priority,
            tags=self._j(run.tags),
            concurrency_key=run.concurrency_key,
            expires_at=self._t(run.expires_at),
            idempotency_key=run.idempotency_key,
            trace_parent=run.trace_parent,
            enqueued_by=enqueued_by[:MAX_ENQUEUED_BY],
        )
        return int(run_id)

    async def insert_api_many(
        self, runs: Sequence[NewExecution], *, enqueued_by: str, now: datetime, conn: Any
    ) -> list[Execution]:
        """Create runs the admin API was asked for (param_source 'api') by `enqueued_by` that carry
        no idempotency key, in the caller's transaction `conn`: one statement where the database returns a
        multi-row insert's ids, else one each. The new runs, in the order of `runs`."""
        if not runs:
            return []
        if self.connector.returns_inserted_rows:
            rows = [self._api_run_row(run) for run in runs]
            made = self._q.insert_api_executions(
                conn, rows=self._j(rows), now=self._t(now), enqueued_by=enqueued_by[:MAX_ENQUEUED_BY]
            )
            # made in the rows' order, so their ids ascend in it (insert_api_executions)
            ids = sorted([int(dict(row)["id"]) async for row in made])
        else:
            ids = []
            for run in runs:
                made_id = await self._insert_api_row(run, enqueued_by=enqueued_by, now=now, conn=conn)
                ids.append(made_id)
        if len(ids) != len(runs):
            raise RuntimeError(f"{len(ids)} runs made of {len(runs)} asked")
        # a run its handler's limits hold is read back WAITING: not sent (work_queue.ready_runs)
        made = [(run_id, run.handler_name) for run_id, run in zip(ids, runs, strict=True)]
        await self.limits.admit(conn, made, now=now)
        return await self.by_ids(ids, conn=conn)

    async def by_ids(self, execution_ids: Sequence[int], *, conn: Any = None) -> list[Execution]:
        """The runs of `execution_ids` that exist, by id."""
        if not execution_ids:
            return []
        return rows_to(
            Execution, await self._select("executions_by_ids", conn=conn, ids=self._j(list(execution_ids)))
        )

    async def insert_manual(
        self, run: NewExecution, *, overlap_policy: OverlapPolicy, now: datetime, conn: Any = None
    ) -> Execution | None:
        """Create a run of a cron job now (param_source 'manual') under the job's overlap policy:
        'skip': None while a run of the job is active; 'queue_one': WAITING behind an active run,
        None if one waits already. The check and the insert share one transaction (the caller's,
        given `conn`), under the job row's lock (NotFoundError when the job was deleted meanwhile)."""

        async def insert(tx: Any) -> Execution | None:
            # the job may have been deleted since it was read: then there is nothing to run
            if await self._q.lock_cron_job(tx, job_id=run.job_id) is None:
                raise NotFoundError(f"no cron job with id {run.job_id}")
            status = ExecutionStatus.PENDING
            if overlap_policy != "allow":
                active = int(await self._q.count_active_runs(tx, job_id=run.job_id))
                waiting = int(await self._q.has_waiting_run(tx, job_id=run.job_id))
                if (overlap_policy == "skip" and active) or waiting:
                    return None
                if active:
                    status = ExecutionStatus.WAITING
            run_id = await self._q.insert_manual_execution(
                tx,
                job_id=run.job_id,
                handler_name=run.handler_name,
                status=status.value,
                params=self._j(run.params),
                max_retry=run.max_retry,
                timeout_seconds=run.timeout_seconds,
                params_provenance=self._j(run.params_provenance),
                now=self._t(now),
                priority=run.priority,
                tags=self._j(run.tags),
                concurrency_key=run.concurrency_key,
                expires_at=self._t(run.expires_at),
            )
            if status is ExecutionStatus.PENDING:
                await self.limits.admit(tx, [(int(run_id), run.handler_name)], now=now)
            return Execution.from_row(await self._q.get_execution(tx, id=int(run_id)))

        return await self._in_transaction(conn, insert)

    async def insert_backfill(
        self, job_id: int, slots: Sequence[datetime], *, now: datetime, conn: Any = None
    ) -> Backfilled:
        """Runs of the job for `slots` (param_source 'backfill', whatever its overlap policy), each
        once: a slot that has a run already keeps it. Under the job row's lock, so of two backfills
        (or a backfill and a tick) at once, each slot's run is made, and reported, by one only.
        In the caller's transaction given `conn`. NotFoundError when the job does not exist."""

        async def backfill(tx: Any) -> Backfilled:
            if await self._q.lock_cron_job(tx, job_id=job_id) is None:
                raise NotFoundError(f"no cron job with id {job_id}")
            asked = self._j(self._slots([(job_id, slot) for slot in slots]))
            existing = rows_to(RunRef, [row async for row in self._q.runs_for_slots(tx, slots=asked)])
            taken = {run.scheduled_time for run in existing}
            missing = self._slots([(job_id, slot) for slot in slots if slot not in taken])
            if not missing:
                return Backfilled(existing=existing, created=[])
            encoded = self._j(missing)
            await self._q.insert_cron_runs(tx, slots=encoded, param_source="backfill", now=self._t(now))
            made = rows_to(RunRef, [row async for row in self._q.runs_for_slots(tx, slots=encoded)])
            admission = await self.limits.admit(tx, [(run.id, run.handler_name) for run in made], now=now)
            if admission.held:  # as they are now: those that wait are WAITING
                made = rows_to(RunRef, [row async for row in self._q.runs_for_slots(tx, slots=encoded)])
            return Backfilled(existing=existing, created=made)

        return await self._in_transaction(conn, backfill)

    async def for_slots(self, job_id: int, slots: Sequence[datetime], *, conn: Any = None) -> list[RunRef]:
        if not slots:
            return []
        encoded = self._j(self._slots([(job_id, slot) for slot in slots]))
        return rows_to(RunRef, await self._select("runs_for_slots", conn=conn, slots=encoded))

    async def mark_queued(self, sent: Sequence[tuple[int, int]], *, now: datetime) -> None:
        """Record that the message for (execution_id, attempt) was sent, if that attempt is current."""
        if sent:
            runs = [{"id": execution_id, "attempt": attempt} for execution_id, attempt in sent]
            await self._update("mark_queued", runs=self._j(runs), now=self._t(now))

    # a run's life: claim, finish, retry, cancel ---------------------------------------------------

    async def get(self, execution_id: int, *, conn: Any = None) -> Execution | None:
        async with self._connection(conn) as c:
            return row_to(Execution, await self._q.get_execution(c, id=execution_id))

    async def claim(
        self,
        execution_id: int,
        *,
        attempt: int,
        now: datetime,
        deadline_at: datetime,
        margin: timedelta = timedelta(0),
        conn: Any = None,
    ) -> Execution | Deferred | None:
        """PENDING -> RUNNING for the message's attempt: the claimed run, or None when someone else
        has it (or had it), or it does not exist.

        The run's deadline_at becomes now + its timeout_seconds + `margin`, or `deadline_at` when
        that is earlier. One statement where the database can return the row it updated.

        A run admitted under a handler's rate starts only if the rate allows a start now (one more
        statement, for such runs only: jobu.store.limits, take_start); if not, it is put back for
        later (Deferred), and the caller sends it.
        """

        async def claiming(c: Any) -> Any:
            claimed = await self._q.claim_execution(
                c,
                id=execution_id,
                attempt=attempt,
                now=self._t(now),
                timeout_base=self._t(now + margin),
                deadline_at=self._t(deadline_at),
            )
            if isinstance(claimed, int):  # MySQL: the rows the UPDATE matched, then the row itself
                claimed = await self._q.get_claimed_execution(c, id=execution_id) if claimed == 1 else None
            return claimed

        # a deadlock with an operator's cancel rolls the claim back: it is tried again
        found = await self._run(claiming, conn)
        execution = row_to(Execution, found)
        if execution is None or execution.limit_state != "admitted":
            return execution
        rate = self.limits.claimed_rate(execution.handler_name, dict(found))
        if rate is None:
            return execution
        async with self._connection(conn) as c:
            if execution.available_at > now + STALE_AFTER:
                # a stale message (the one before a put-back, a duplicate): not before its time (a
                # message sent for its time comes after it: DelaySeconds rounds up; STALE_AFTER
                # leaves the clocks of two functions their skew)
                return Deferred(
                    await self.limits.defer_start(c, execution, rate, now=now, until=execution.available_at)
                )
            if await self.limits.take_start(c, execution.handler_name, rate, now=now):
                return execution
            return Deferred(await self.limits.defer_start(c, execution, rate, now=now))

    async def finish(
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
        job_id: int | None = None,
        batch_id: int | None = None,
        limited: str | None = None,
    ) -> Finished:
        """RUNNING -> a final status; with follow_up, create the next run in the same transaction.
        With the run's `job_id` and the job queue_one, the job's WAITING run is promoted in that
        transaction too, under the job row's lock: a tick creating the WAITING run holds the same
        lock, so the run that ends and the run that waits cannot miss each other.

        With `conn`, inside that open transaction (a transactional handler's); else in one of its own,
        or, with nothing to promote, create or notify (no job, no follow-up, no enabled notification
        rule), as one statement that needs none. The outcome's notifications (one per matching rule)
        are written in the same transaction. With the run's `batch_id`, the end is counted on its
        batch in that transaction, and the batch's callback runs made there when it was the last.

        `limited`: the run's handler, when the run was admitted under its limits (limit_state
        'admitted'): its end hands over the handler's waiting runs that now fit (Finished.released):
        the one statement also says whether any wait (jobu.store.limits, end_admitted), and only
        then a promotion follows; or in the end's transaction.
        """
        outcome = {
            "id": execution_id,
            "attempt": attempt,
            "status": status.value,
            "result": self._j(result),
            "error_message": error_message,
            "now": self._t(now),
        }
        if (
            follow_up is None
            and job_id is None
            and batch_id is None
            and (limited is None or conn is None)  # a caller's transaction: its row lock, in it
            and not await self.notifications.any_enabled(conn=conn)
        ):
            # nothing to promote, create or notify: one statement, no transaction
            waiting = 0
            async with self._connection(conn) as c:
                if limited is None:
                    ended = self.connector.affected_rows(await self._q.finish_execution(c, **outcome)) == 1
                else:  # the slot it held: whether runs wait, in the same statement (MySQL: one more)
                    ended, waiting = await self.limits.end_admitted(c, limited, outcome)
            # the runs that wait, if any, handed over
            released = await self.limits.after_end(limited, now=now) if ended and limited and waiting else []
            return Finished(finished=ended, follow_up=None, released=tuple(released))

        async def ending(tx: Any) -> Finished:
            # first the job's row, as the tick and promote_waiting take it: one lock order
            queue_one = job_id is not None and await self._q.lock_queue_one_job(tx, job_id=job_id) is not None
            finished = await self._q.finish_execution(tx, **outcome)
            if self.connector.affected_rows(finished) == 0:
                return Finished(finished=False, follow_up=None)
            promoted = await self._promote(tx, job_id, now=now) if queue_one and job_id is not None else None
            released = await self._release(tx, limited, now=now)
            # the outcome's notifications commit with it, or not at all
            notified = await self.notifications.queue_outcome(
                tx, execution_id, status=status.value, attempt=attempt, now=now
            )
            callbacks = await self._batch_end(tx, execution_id, batch_id, status, now=now)
            if follow_up is None:
                return Finished(
                    finished=True,
                    follow_up=None,
                    promoted=promoted,
                    notifications=notified,
                    callbacks=callbacks,
                    released=released,
                )
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
            admission = await self.limits.admit(tx, [(int(child_id), follow_up.handler_name)], now=now)
            child = Execution.from_row(await self._q.get_execution(tx, id=int(child_id)))
            released += tuple(run for run in admission.promoted if run.id != child.id)
            return Finished(
                finished=True,
                follow_up=child,
                promoted=promoted,
                notifications=notified,
                callbacks=callbacks,
                released=released,
            )

        # a deadlock (with a tick holding the job's row, an operator's cancel) rolls it back: again
        return await self._run(ending, conn, transaction=True)

    async def _batch_end(
        self, tx: Any, execution_id: int, batch_id: int | None, status: ExecutionStatus, *, now: datetime
    ) -> tuple[Execution, ...]:
        """A batch child's end, counted in the transaction `tx` that records it: the batch's callback
        runs when it was the last (jobu.store.batches)."""
        if batch_id is None:
            return ()
        return tuple(
            await self._batches.child_ended(tx, execution_id, batch_id=batch_id, status=status, now=now)
        )

    async def retry(
        self,
        execution_id: int,
        *,
        attempt: int,
        error_message: str,
        result: Any,
        available_at: datetime,
        now: datetime,
        started_at: datetime | None = None,
    ) -> bool:
        """RUNNING -> PENDING with retry_count + 1, runnable from available_at; not (False) when an
        operator asked to cancel this attempt (the one started at `started_at`): it ends CANCELLED
        instead (jobu.retries)."""
        aside = self.connector.cancel_requests
        if aside is not None and await aside.requested_at(execution_id, attempt, started_at) is not None:
            return False
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

    async def retry_finished(
        self, execution_ids: Sequence[int], *, now: datetime, conn: Any = None
    ) -> list[Execution]:
        """FAILED/TIMEOUT -> PENDING with retry_count + 1 for those of the runs still in one of those
        states; returns the runs this call retried (what the caller must queue). The runs are
        locked first: a concurrent retry of the same runs takes none of them."""
        if not execution_ids:
            return []

        async def retry(tx: Any) -> list[Execution]:
            found = self._q.lock_retryable_executions(tx, ids=self._j(list(execution_ids)))
            locked = [int(dict(row)["id"]) async for row in found]
            if not locked:
                return []
            await self._batches.ends_taken_back(tx, locked)  # batch children end again later
            ids = self._j(locked)
            await self._q.retry_finished_executions(tx, ids=ids, now=self._t(now))
            retried = rows_to(
                Execution, [row async for row in self._q.unqueued_executions_by_ids(tx, ids=ids)]
            )
            admission = await self.limits.admit(tx, [(run.id, run.handler_name) for run in retried], now=now)
            return admitted(retried, admission)

        return await self._in_transaction(conn, retry)

    async def request_cancel_aside(self, execution_id: int, *, now: datetime) -> bool:
        """Where the connector keeps cancel requests apart (SQLite), record one for the run's current
        attempt if it is RUNNING, at once: its transactional handler may hold the database's lock
        for as long as it runs. False elsewhere, or when the run is not RUNNING."""
        aside = self.connector.cancel_requests
        if aside is None:
            return False
        run = await self.get(execution_id)
        if run is None or run.status is not ExecutionStatus.RUNNING:
            return False
        await aside.add(run.id, run.retry_count, run.started_at, now=now)
        return True

    async def cancel(
        self,
        execution_id: int,
        *,
        reason: str,
        now: datetime,
        conn: Any = None,
        released: list[Execution] | None = None,
    ) -> str | None:
        """'cancelled' (it was WAITING or PENDING: it never starts), 'requested' (it is RUNNING: its
        worker cancels it), or None (it is not active). In the caller's transaction, given `conn`.
        A run admitted under its handler's limits frees its slot: the runs that fit now are handed
        over in the same transaction and appended to `released` (to send after the commit)."""

        async def cancelling(tx: Any) -> str | None:
            if self.connector.affected_rows(
                await self._q.cancel_unstarted_execution(tx, id=execution_id, reason=reason, now=self._t(now))
            ):
                run = await self._q.get_execution(tx, id=execution_id)
                attempt = int(run["retry_count"]) if run is not None else 0
                ended = None if run is None else Execution.from_row(run)
                if ended is not None and ended.limit_state == "admitted":
                    freed = await self._release(tx, ended.handler_name, now=now)
                    if released is not None:
                        released[:] = freed  # a transaction run again replaces, never adds
                await self.notifications.queue_outcome(
                    tx, execution_id, status=ExecutionStatus.CANCELLED.value, attempt=attempt, now=now
                )
                batch_id = None if run is None or run["batch_id"] is None else int(run["batch_id"])
                # a callback this made is sent by the operation (jobu.operations.batches), or the sweeper
                await self._batch_end(tx, execution_id, batch_id, ExecutionStatus.CANCELLED, now=now)
                return "cancelled"
            if self.connector.affected_rows(
                await self._q.request_cancel(tx, id=execution_id, now=self._t(now))
            ):
                return "requested"
            return None

        # a deadlock with a worker's claim rolls the cancel back: it is tried again
        return await self._run(cancelling, conn, transaction=True)

    async def cancel_requested(
        self, execution_id: int, *, attempt: int, started_at: datetime | None = None
    ) -> bool:
        """Whether an operator asked to cancel this attempt of the run (the one started at
        `started_at`)."""
        aside = self.connector.cancel_requests
        if aside is not None:  # there only: the run's own transaction may hold the database
            return await aside.requested_at(execution_id, attempt, started_at) is not None
        return await self._select_one("cancel_requested", id=execution_id) is not None

    async def expire(
        self, execution_id: int, *, now: datetime, conn: Any = None, released: list[Execution] | None = None
    ) -> bool:
        """A run never started by its expires_at ends EXPIRED; False when it is not such a run.
        In one transaction, on `conn` when given (a connection the caller holds, outside any
        transaction: the worker's), with the outcome's notifications and its batch's count. One
        admitted under its handler's limits frees its slot, as `cancel` says."""

        async def expiring(tx: Any) -> bool:
            expired = self.connector.affected_rows(
                await self._q.expire_run(tx, id=execution_id, now=self._t(now))
            )
            if expired != 1:
                return False
            run = await self._q.get_execution(tx, id=execution_id)
            ended = None if run is None else Execution.from_row(run)
            if ended is not None and ended.limit_state == "admitted":
                freed = await self._release(tx, ended.handler_name, now=now)
                if released is not None:
                    released[:] = freed  # a transaction run again replaces, never adds
            await self.notifications.queue_outcome(
                tx, execution_id, status=ExecutionStatus.EXPIRED.value, attempt=0, now=now
            )
            batch_id = None if ended is None else ended.batch_id
            # the callbacks this makes, unsent, are the sweeper's to send (unqueued PENDING runs)
            await self._batch_end(tx, execution_id, batch_id, ExecutionStatus.EXPIRED, now=now)
            return True

        if conn is not None:
            async with self.connector.transaction_on(conn):
                return await expiring(conn)
        return await self.connector.run(expiring, transaction=True)

    async def expire_due(
        self, *, now: datetime, page: int = 500, released: list[Execution] | None = None
    ) -> int:
        """Every run never started by its expires_at ends EXPIRED, each with its notifications as
        the worker's expiry writes them; how many did (the runs their freed slots let through are
        appended to `released`)."""
        expired = 0
        while True:
            found = await self._select("expirable_runs", now=self._t(now), limit=page)
            for row in found:
                expired += await self.expire(int(row["id"]), now=now, released=released)
            if len(found) < page:
                return expired

    # queue_one: a job's WAITING run ----------------------------------------------------------------

    async def promote_waiting(self, job_id: int, *, now: datetime) -> Execution | None:
        """queue_one: the job's WAITING run becomes PENDING if no run of the job is active any more.
        Under the job row's lock, so a tick creating a WAITING run and a worker ending the active one
        cannot miss each other."""

        async def promoting(conn: Any) -> Execution | None:
            await self._q.lock_cron_job(conn, job_id=job_id)
            return await self._promote(conn, job_id, now=now)

        return await self.connector.run(promoting, transaction=True)

    async def _promote(self, conn: Any, job_id: int, *, now: datetime) -> Execution | None:
        """Inside a transaction that holds the job's row."""
        waiting = await self._q.oldest_waiting_run(conn, job_id=job_id)
        if waiting is None:
            return None
        await self._q.promote_run(conn, id=int(waiting), now=self._t(now))
        run = Execution.from_row(await self._q.get_execution(conn, id=int(waiting)))
        # its handler's limits may hold it still (WAITING in their line); older runs of that line
        # handed over with it are sent by the sweeper
        admission = await self.limits.admit(conn, [(run.id, run.handler_name)], now=now)
        return admitted([run], admission)[0]

    async def _release(self, conn: Any, limited: str | None, *, now: datetime) -> tuple[Execution, ...]:
        """The end of a run admitted under its handler's limits: the runs that fit now."""
        if limited is None:
            return ()
        return tuple(await self.limits.promote_after_end(conn, limited, now=now))

    async def cancel_orphaned_waiting(self, *, reason: str, now: datetime) -> int:
        """Cancel the WAITING runs whose job is gone; how many."""
        return await self._update("cancel_orphaned_waiting_runs", reason=reason, now=self._t(now))

    async def jobs_with_promotable(self, *, limit: int) -> list[int]:
        rows = await self._select("jobs_with_promotable_runs", limit=limit)
        return [int(dict(row)["job_id"]) for row in rows]

    # the sweeper's repairs ------------------------------------------------------------------------

    async def unqueued(self, *, cutoff: datetime, limit: int) -> list[Execution]:
        return rows_to(
            Execution, await self._select("unqueued_executions", cutoff=self._t(cutoff), limit=limit)
        )

    async def delayed_due(self, *, cutoff: datetime, horizon: datetime, limit: int) -> list[Execution]:
        """Runs left unsent for their run_at / delay that may start by `horizon`, created before `cutoff`."""
        rows = await self._select(
            "delayed_executions_due", cutoff=self._t(cutoff), horizon=self._t(horizon), limit=limit
        )
        return rows_to(Execution, rows)

    async def stuck(self, *, cutoff: datetime, limit: int) -> list[Execution]:
        return rows_to(Execution, await self._select("stuck_executions", cutoff=self._t(cutoff), limit=limit))

    async def stale_running(self, *, now: datetime, limit: int) -> list[Execution]:
        stale = rows_to(
            Execution, await self._select("stale_running_executions", now=self._t(now), limit=limit)
        )
        aside = self.connector.cancel_requests
        if aside is not None:  # the requests kept apart, as the sweeper reads them on a run
            for run in stale:
                requested = await aside.requested_at(run.id, run.retry_count, run.started_at)
                run.cancel_requested_at = run.cancel_requested_at or requested
        return stale

    # the history ----------------------------------------------------------------------------------

    async def list_recent(
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
        return rows_to(Execution, rows)

    def bind_filter(
        self,
        *,
        job_id: int | None,
        statuses: Sequence[ExecutionStatus] | None,
        handler_name: str | None,
        from_date: datetime | None,
        to_date: datetime | None,
    ) -> dict[str, Any]:
        """The run history's filter as its queries bind it (None: any); the statistics filter
        with the same."""
        return {
            "job_id": job_id,
            "statuses": None if statuses is None else self._j([status.value for status in statuses]),
            "handler_name": handler_name,
            "from_date": self._t(from_date),
            "to_date": self._t(to_date),
        }

    def bind_tags(self, tags: Sequence[str] | None) -> Any:
        """The tags a run must all carry, as the history and the statistics bind them (None: any)."""
        return self._j(list(tags)) if tags else None

    def bind_params(self, params: Mapping[str, str] | None) -> Any:
        """The top-level params values a run must all have ({key: value}, jobu.param_match), as the
        history and the statistics bind them (None: any)."""
        return self.connector.encode_param_match(params) if params else None

    def _history_filter(
        self,
        tags: Sequence[str] | None = None,
        params: Mapping[str, str] | None = None,
        batch_id: int | None = None,
        **run_filter: Any,
    ) -> dict[str, Any]:
        """bind_filter's, the tags a run must all carry, the params values it must all have and the
        batch it is a child of."""
        return self.bind_filter(**run_filter) | {
            "tags": self.bind_tags(tags),
            "params": self.bind_params(params),
            "batch_id": batch_id,
        }

    async def count(self, **run_filter: Any) -> int:
        """Runs matching job_id, statuses, handler_name, from_date, to_date, tags, params and batch_id
        (None: any)."""
        return int(await self._select_one("count_executions", **self._history_filter(**run_filter)))

    async def page(self, *, limit: int, offset: int, **run_filter: Any) -> list[ExecutionSummary]:
        """A page of the runs count counts, newest first."""
        from jobu.listings import ExecutionSummary  # the admin's alone (jobu.listings)

        rows = await self._select(
            "page_executions", limit=limit, offset=offset, **self._history_filter(**run_filter)
        )
        return rows_to(ExecutionSummary, rows)

    async def detail(self, execution_id: int) -> tuple[Execution, str | None] | None:
        """The run and the name of its cron job (None when the job is gone or there is none)."""
        row = await self._select_one("execution_detail", id=execution_id)
        if row is None:
            return None
        fields = dict(row)
        return Execution.from_row(fields), fields.get("cron_name")

    async def summary(self, execution_id: int) -> ExecutionSummary | None:
        from jobu.listings import ExecutionSummary

        return row_to(ExecutionSummary, await self._select_one("execution_summary", id=execution_id))

    async def children(self, execution_id: int, *, limit: int) -> list[ExecutionSummary]:
        from jobu.listings import ExecutionSummary

        return rows_to(
            ExecutionSummary, await self._select("execution_children", id=execution_id, limit=limit)
        )

    async def for_source(self, topic: str, partition: int, offset: int) -> Execution | None:
        row = await self._select_one(
            "execution_for_source", source_topic=topic, source_partition=partition, source_offset=offset
        )
        return row_to(Execution, row)

    # deletion -------------------------------------------------------------------------------------

    async def delete_finished(self, execution_id: int, *, conn: Any = None) -> bool:
        """Delete a run that can no longer start or run; False when none such exists."""
        return await self._update("delete_finished_execution", conn=conn, id=execution_id) > 0

    async def prune_idempotency_keys(self, *, cutoff: datetime, limit: int) -> int:
        """Retention: delete up to `limit` idempotency claims that expired before `cutoff` (a new
        request would take such a claim over anyway); how many it deleted."""
        return await self._update("prune_idempotency_keys", cutoff=self._t(cutoff), limit=limit)

    async def prune(self, *, cutoff: datetime, limit: int) -> int:
        """Retention: delete up to `limit` of the oldest runs that finished before `cutoff`; how
        many it deleted."""
        return await self._update("delete_finished_runs", cutoff=self._t(cutoff), limit=limit)
