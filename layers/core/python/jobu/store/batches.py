"""The store's batches (the batches table): runs made together, whose ends are counted on the batch
row, and the callback runs (on_success, on_complete) the last end makes, exactly once.

Every way a child reaches a final status counts it here, in the transaction that records the status
(jobu.store.runs: finish, cancel, expire; and the cancel of the batch itself). That transition
happens once per run (each is a conditional UPDATE that only one actor can make), so each end is
counted once however often a message is delivered. The counting UPDATE holds the batch row's lock to
the commit, so of two children ending at once one counts after the other, and only the transaction
whose count reaches the total sees the batch complete: it creates the callbacks and closes the batch
(finished_at), which nothing undoes. An operator's retry of a FAILED or TIMEOUT child takes its end
back while the batch is open; once the batch has ended its counts are final.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jobu.models import MAX_ENQUEUED_BY, Batch, Execution, ExecutionStatus, NewExecution, utc
from jobu.store.connector import Connector
from jobu.store.limits import HandlerLimits
from jobu.store.notifications import Notifications
from jobu.store.rows import Rows, row_to, rows_to

# children inserted per statement, and cancelled per statement
PAGE = 500
# the key of a callback run's params that carries its batch: id, status, total and the counts
BATCH_PARAM = "batch"
# the handler name a batch's idempotency key is claimed under in idempotency_keys: no run's (a run's
# handler name has at least one character), so a batch's key and a run's never meet
KEY_SCOPE = ""
# a batch's counter of each final status
_COUNTERS = {
    ExecutionStatus.SUCCESS: "succeeded",
    ExecutionStatus.FAILED: "failed",
    ExecutionStatus.TIMEOUT: "timed_out",
    ExecutionStatus.CANCELLED: "cancelled",
    ExecutionStatus.EXPIRED: "expired",
}


@dataclass(frozen=True)
class BatchCancel:
    """What a batch's cancel did: its runs cancelled, the callbacks that ended it, and the handlers
    whose limits' slots those runs held."""

    cancelled: int
    callbacks: tuple[Execution, ...]
    freed_handlers: tuple[str, ...]


@dataclass(frozen=True)
class KeyHeld:
    """A batch request's idempotency key is another request's: the batch it made (None: deleted since
    by retention, while the key's claim lasts)."""

    batch_id: int | None


def batch_status(batch: Batch) -> str:
    """The final status of a batch whose every child ended: SUCCESS when they all succeeded;
    CANCELLED when it was cancelled, or when every child that did not succeed was cancelled (one by
    one, or in a bulk cancel: what its operators asked for, as a cancel of the batch); else FAILED
    (a child failed, timed out or expired)."""
    if batch.succeeded == batch.total:
        return "SUCCESS"
    if batch.cancelled_at is not None or batch.failed + batch.timed_out + batch.expired == 0:
        return "CANCELLED"
    return "FAILED"


def callback_params(params: Mapping[str, Any], batch: Mapping[str, Any]) -> dict[str, Any]:
    """A callback run's params: its link's, and the batch's id, status and counts."""
    return {**params, BATCH_PARAM: dict(batch)}


class Batches(Rows):
    def __init__(self, connector: Connector, notifications: Notifications, limits: HandlerLimits) -> None:
        super().__init__(connector)
        self.notifications = notifications
        self.limits = limits

    # creation -------------------------------------------------------------------------------------

    async def claim_key(self, key: str, *, expires_at: datetime, now: datetime, conn: Any) -> KeyHeld | None:
        """Claim the batch idempotency key `key` until `expires_at` in the caller's transaction
        `conn`, as a run's key is claimed (jobu.store.runs): None when this request holds it now
        (and makes the batch, with the key, in the same transaction); else who holds it. Of two
        requests at once the second waits on the claim's primary key until the first commits."""
        claimed_by = f"batch:{uuid.uuid4()}"  # this attempt's token: a transaction run again claims afresh
        claim = {
            "handler_name": KEY_SCOPE,
            "idempotency_key": key,
            "claimed_by": claimed_by,
            "expires_at": self.connector.encode_json_time(expires_at),
        }
        await self._q.claim_idempotency_keys(conn, keys=self._j([claim]), now=self._t(now))
        holder = dict(await self._q.batch_key_holder(conn, scope=KEY_SCOPE, idempotency_key=key))
        if holder["claimed_by"] == claimed_by:
            return None
        return KeyHeld(None if holder["batch_id"] is None else int(holder["batch_id"]))

    async def create(
        self,
        runs: Sequence[NewExecution],
        *,
        on_success: Mapping[str, Any] | None,
        on_complete: Mapping[str, Any] | None,
        created_by: str,
        now: datetime,
        conn: Any,
        idempotency_key: str | None = None,
    ) -> tuple[Batch, list[Execution]]:
        """The batch and all its runs (PENDING, unsent), in the caller's transaction `conn`: a batch is
        whole or not at all, so no callback can come before a child that was never made. With an
        `idempotency_key`, only by the request that claimed it (claim_key) in `conn`."""
        batch_id = await self._q.insert_batch(
            conn,
            total=len(runs),
            idempotency_key=idempotency_key,
            on_success=None if on_success is None else self._j(dict(on_success)),
            on_complete=None if on_complete is None else self._j(dict(on_complete)),
            created_by=created_by,
            now=self._t(now),
        )
        for start in range(0, len(runs), PAGE):
            rows = [self._api_run_row(run) for run in runs[start : start + PAGE]]
            await self._q.insert_batch_children(
                conn,
                rows=self._j(rows),
                now=self._t(now),
                batch_id=batch_id,
                enqueued_by=created_by[:MAX_ENQUEUED_BY],  # each child names who enqueued it
            )
        made = [row async for row in self._q.batch_children(conn, batch_id=int(batch_id))]
        children = rows_to(Execution, made)
        # the runs their handlers' limits hold are read back WAITING: not sent (work_queue.ready_runs)
        admission = await self.limits.admit(conn, [(run.id, run.handler_name) for run in children], now=now)
        if admission.held:
            children = rows_to(
                Execution, [row async for row in self._q.batch_children(conn, batch_id=int(batch_id))]
            )
        batch = Batch.from_row(await self._q.get_batch(conn, id=int(batch_id)))
        return batch, children

    # the children's ends ----------------------------------------------------------------------------

    async def child_ended(
        self, tx: Any, execution_id: int, *, batch_id: int, status: ExecutionStatus, now: datetime
    ) -> list[Execution]:
        """Count the end of the batch's child `execution_id` (just recorded with `status` in the open
        transaction `tx`); the callback runs made when it was the last (PENDING, to be queued after
        the commit), else none."""
        counter = _COUNTERS.get(status)
        if counter is None:  # not a final status: nothing ended
            return []
        return await self._add_ends(tx, batch_id, {counter: 1}, last_child=execution_id, now=now)

    async def ends_taken_back(self, tx: Any, execution_ids: Sequence[int]) -> None:
        """Before an operator's retry of `execution_ids` (locked, FAILED or TIMEOUT) in `tx`: their
        batches count their ends no more, unless a batch has ended (its counts are final)."""
        taken: dict[int, dict[str, int]] = {}
        async for found in self._q.batch_ends_of_runs(tx, ids=self._j(list(execution_ids))):
            row = dict(found)
            counter = _COUNTERS[ExecutionStatus(row["status"])]
            counts = taken.setdefault(int(row["batch_id"]), {})
            counts[counter] = counts.get(counter, 0) - 1
        for batch_id, counts in sorted(taken.items()):  # one order: two retries lock batches alike
            await self._q.add_batch_ends(tx, id=batch_id, ended=sum(counts.values()), **self._deltas(counts))

    async def _add_ends(
        self, tx: Any, batch_id: int, counts: Mapping[str, int], *, last_child: int, now: datetime
    ) -> list[Execution]:
        added = await self._q.add_batch_ends(
            tx, id=batch_id, ended=sum(counts.values()), **self._deltas(counts)
        )
        if self.connector.affected_rows(added) == 0:
            return []  # the batch has ended already (or is gone): nothing more to count
        # the row as this count left it: the UPDATE holds its lock until the commit
        batch = Batch.from_row(await self._q.lock_batch(tx, id=batch_id))
        if batch.ended < batch.total or batch.finished_at is not None:
            return []
        return await self._close(tx, batch, last_child=last_child, now=now)

    @staticmethod
    def _deltas(counts: Mapping[str, int]) -> dict[str, int]:
        return {counter: counts.get(counter, 0) for counter in _COUNTERS.values()}

    async def _close(self, tx: Any, batch: Batch, *, last_child: int, now: datetime) -> list[Execution]:
        """The last end: the batch's final status, and its callback runs, made here once. Stamped no
        earlier than any of its runs' ends: each end is stamped before it waited for the batch's
        row, so the one counted last may carry an earlier time than another."""
        # runnable from the end that completed it, as its sender's clock says (so the sender
        # computes no delay for its message); stamped no earlier than any end
        available_at = now
        last_end = await self._q.batch_last_end(tx, batch_id=batch.id)
        if last_end is not None:
            now = max(now, utc(last_end))
        status = batch_status(batch)
        summary = {"id": batch.id, "status": status, **batch.counts()}
        made: dict[str, Execution | None] = {"success": None, "complete": None}
        links = {"success": batch.on_success if status == "SUCCESS" else None, "complete": batch.on_complete}
        for kind, link in links.items():
            if link is None:
                continue
            run_id = await self._q.insert_callback_execution(
                tx,
                handler_name=link["handler_name"],
                params=self._j(callback_params(link.get("params") or {}, summary)),
                max_retry=int(link["max_retry"]),
                timeout_seconds=int(link["timeout_seconds"]),
                parent_execution_id=last_child,
                available_at=self._t(available_at),
                now=self._t(now),
            )
            # one its handler's limits hold is read back WAITING: not sent (work_queue.ready_runs)
            await self.limits.admit(tx, [(int(run_id), str(link["handler_name"]))], now=now)
            made[kind] = Execution.from_row(await self._q.get_execution(tx, id=int(run_id)))
        success, complete = made["success"], made["complete"]
        await self._q.close_batch(
            tx,
            id=batch.id,
            status=status,
            now=self._t(now),
            success_run_id=None if success is None else success.id,
            complete_run_id=None if complete is None else complete.id,
        )
        return [run for run in (success, complete) if run is not None]

    # an operator's cancel -----------------------------------------------------------------------------

    async def cancel(self, batch_id: int, *, reason: str, now: datetime, conn: Any) -> BatchCancel | None:
        """Cancel the batch's WAITING and PENDING children (its RUNNING ones finish as they will), in
        the caller's transaction: how many, the callback runs made if that ended the batch, and the
        handlers whose limits' slots the cancelled runs held (jobu.store.limits: the caller hands
        over what now fits). None: no such batch."""
        if await self._q.get_batch(conn, id=batch_id) is None:
            return None
        # the children's rows first, then the batch's: the order a child's own end takes them in
        notify = await self.notifications.any_enabled(conn=conn)
        cancelled, last_child = 0, 0
        freed: set[str] = set()
        while True:
            rows = [
                dict(row)
                async for row in self._q.unstarted_batch_children(conn, batch_id=batch_id, limit=PAGE)
            ]
            if not rows:
                break
            ids = [int(row["id"]) for row in rows]
            changed = await self._q.cancel_unstarted_executions(
                conn, ids=self._j(ids), reason=reason, now=self._t(now)
            )
            cancelled += self.connector.affected_rows(changed)
            last_child = ids[-1]
            freed |= {str(row["handler_name"]) for row in rows if row["limit_state"] == "admitted"}
            if notify:  # each cancelled run's notifications commit with its end
                for run_id in ids:
                    await self.notifications.queue_outcome(
                        conn, run_id, status=ExecutionStatus.CANCELLED.value, attempt=0, now=now
                    )
        await self._q.cancel_batch(conn, id=batch_id, now=self._t(now))
        if not cancelled:
            return BatchCancel(0, (), ())
        callbacks = await self._add_ends(
            conn, batch_id, {"cancelled": cancelled}, last_child=last_child, now=now
        )
        return BatchCancel(cancelled, tuple(callbacks), tuple(sorted(freed)))

    async def prune(self, *, cutoff: datetime, limit: int) -> int:
        """Retention: delete up to `limit` of the oldest batches that ended before `cutoff`."""
        return await self._update("delete_finished_batches", cutoff=self._t(cutoff), limit=limit)

    # reading ----------------------------------------------------------------------------------------

    async def get(self, batch_id: int, *, conn: Any = None) -> Batch | None:
        return row_to(Batch, await self._select_one("get_batch", conn=conn, id=batch_id))

    async def child_ids(self, batch_id: int) -> list[int]:
        """The ids of the batch's children, ascending."""
        return [int(dict(row)["id"]) for row in await self._select("batch_child_ids", batch_id=batch_id)]

    async def status_counts(self, batch_id: int) -> dict[str, int]:
        """The batch's children by their status now."""
        rows = await self._select("batch_status_counts", id=batch_id)
        return {str(dict(row)["status"]): int(dict(row)["runs"]) for row in rows}

    async def count(self, *, status: str | None = None) -> int:
        return int(await self._select_one("count_batches", status=status))

    async def page(self, *, limit: int, offset: int, status: str | None = None) -> list[Batch]:
        rows = await self._select("page_batches", status=status, limit=limit, offset=offset)
        return rows_to(Batch, rows)
