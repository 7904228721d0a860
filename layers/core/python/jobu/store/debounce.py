"""The store's debounce windows (debounce_keys, debounce_requests, and the debounced runs of
job_executions).

A run request with `debounce {"key", "seconds", "max_wait_seconds"}` (jobu.run_options) is one
transaction here:
1. a Kafka record's request claims its record (debounce_requests): a redelivered record finds its
   claim and is answered with the run it went to, not taken as a new request;
2. the request writes the (handler, key) row (debounce_keys) first: its lock serialises two
   dispatchers with the same key for the rest of the transaction;
3. if the key's run still waits (PENDING, never sent, never started, not yet due), the request
   replaces its params (and expiry, trace) and moves its start to now + seconds, never past the
   window's start_by (the first request's time + max_wait_seconds);
4. else the request opens a new window: a new run, PENDING at now + seconds, which nobody sends
   before then (the sweeper sends it once due: debounced_executions_due).

So each window ends as one run, with the params of its last request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jobu.models import Execution, NewExecution, utc
from jobu.store.rows import Rows, rows_to


@dataclass(frozen=True)
class Debounced:
    """What one request did: the run it went to (None: a redelivery whose run is gone), whether it
    joined a waiting run (else it opened a window: a new run), and whether it was a redelivery of a
    request already taken (then nothing changed)."""

    run: Execution | None
    joined: bool
    redelivered: bool = False


class Debounces(Rows):
    async def request(
        self, run: NewExecution, *, request_key: str | None, now: datetime, conn: Any = None
    ) -> Debounced:
        """Take one debounced request (run.debounce set), in the caller's transaction `conn` or in
        one of its own (run again after a deadlock: every step is in it). `request_key`: the Kafka
        record's (topic:partition:offset); None for a request with no redelivery of its own (the
        enqueue API's)."""
        debounce = run.debounce
        if debounce is None:
            raise ValueError("not a debounced request")

        async def taking(tx: Any) -> Debounced:
            if request_key is not None:
                claimed = await self._q.claim_debounce_request(tx, request_key=request_key, now=self._t(now))
                if self.connector.affected_rows(claimed) == 0:  # this record was taken before
                    found = await self._q.debounce_request_run(tx, request_key=request_key)
                    earlier = None if found is None else await self._q.get_execution(tx, id=int(found))
                    taken = Execution.from_row(earlier) if earlier else None
                    return Debounced(run=taken, joined=False, redelivered=True)
            key = {"handler_name": run.handler_name, "debounce_key": debounce.key}
            await self._q.debounce_touch_key(tx, **key, now=self._t(now))
            window = dict(await self._q.debounce_window(tx, **key))
            start = now + timedelta(seconds=debounce.seconds)
            joined = False
            if window["execution_id"] is not None:
                if window["start_by"] is not None:  # never past the window's max wait
                    start = min(start, utc(window["start_by"]))
                changed = await self._q.join_debounced_run(
                    tx,
                    id=int(window["execution_id"]),
                    params=self._j(run.params),
                    params_provenance=self._j(run.params_provenance),
                    available_at=self._t(start),
                    expires_at=self._t(run.expires_at),
                    trace_parent=run.trace_parent,
                    now=self._t(now),
                )
                joined = self.connector.affected_rows(changed) == 1
            if joined:
                run_id = int(window["execution_id"])
            else:  # no window, or its run has been sent or started: a new window
                run_id = await self._open(tx, run, key, now=now)
            if request_key is not None:
                await self._q.set_debounce_request_run(tx, request_key=request_key, execution_id=run_id)
            row = await self._q.get_execution(tx, id=run_id)
            return Debounced(run=Execution.from_row(row), joined=joined)

        return await self._in_transaction(conn, taking)

    async def _open(self, tx: Any, run: NewExecution, key: dict[str, str], *, now: datetime) -> int:
        debounce = run.debounce
        assert debounce is not None
        start_by = None
        if debounce.max_wait_seconds is not None:
            start_by = now + timedelta(seconds=debounce.max_wait_seconds)
        run_id = int(
            await self._q.insert_debounced_execution(
                tx,
                job_id=run.job_id,
                handler_name=run.handler_name,
                params=self._j(run.params),
                param_source=run.param_source,
                max_retry=run.max_retry,
                timeout_seconds=run.timeout_seconds,
                available_at=self._t(now + timedelta(seconds=debounce.seconds)),
                params_provenance=self._j(run.params_provenance),
                now=self._t(now),
                priority=run.priority,
                tags=self._j(run.tags),
                concurrency_key=run.concurrency_key,
                expires_at=self._t(run.expires_at),
                trace_parent=run.trace_parent,
                source_topic=run.source_topic,
                source_partition=run.source_partition,
                source_offset=run.source_offset,
                debounce_key=debounce.key,
            )
        )
        await self._q.open_debounce_window(
            tx, **key, execution_id=run_id, now=self._t(now), start_by=self._t(start_by)
        )
        return run_id

    async def due(self, *, now: datetime, limit: int) -> list[Execution]:
        """Debounced runs whose start has come, never sent: the sweeper sends them."""
        rows = await self._select("debounced_executions_due", now=self._t(now), limit=limit)
        return rows_to(Execution, rows)

    async def prune(self, *, cutoff: datetime, limit: int) -> int:
        """Retention: windows no request touched since `cutoff`, and Kafka requests taken before it
        (a record redelivered after that would be taken as a new request); how many rows went."""
        keys = await self._update("prune_debounce_keys", cutoff=self._t(cutoff), limit=limit)
        requests = await self._update("prune_debounce_requests", cutoff=self._t(cutoff), limit=limit)
        return keys + requests
