"""The store's limits (the handler_limits table, and job_executions.limit_state): admission of runs
that become runnable, and promotion of waiting runs when a slot frees (jobu.limits has the rules,
docs/executions.md "Limits" the transitions).

Every way a run becomes runnable (a Kafka record, the enqueue API, a cron tick, run now, a backfill,
an operator's retry, an on_success/on_failure run, a queue_one run its job lets go) calls `admit`
in the transaction that made it PENDING: for a handler with limits, the run joins the handler's
waiting line (WAITING, limit_state 'queued'), and the runs of the line that fit are handed over
(PENDING, limit_state 'admitted', from the time their rate allows). An admitted run ends with
`end_admitted`: one statement that records the end and reads the row's `waiting` under a share lock
(on MySQL, one more statement after it), then a promotion (`after_end`) only when runs wait; or with
`promote_after_end` inside the transaction of an end that has one (a transactional handler's, a
cancel, an expiry). Admissions and promotions lock the handler's handler_limits row first, so the
admissions of one handler's runs go one at a time and no two can both take the last slot. Lock
order: a cron job's row, then runs, then handler_limits rows in name order (every path takes them
in this order).

A handler with no limits costs one read of handler_limits per transaction that makes runs, and
nothing on a run's end; with limits, an admitted run's end costs no more statements than one without
when nothing waits (on MySQL, one more).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from jobu.limits import NO_LIMITS, Limits, Rate, default_limits
from jobu.models import Execution, ExecutionStatus, HandlerLimitsRow, RunRef, UtcDatetime
from jobu.models import Row as _Row
from jobu.observability import THROTTLED, count
from jobu.store.connector import Connector
from jobu.store.rows import Rows, row_to, rows_to

# runs are handed over up to SQS's longest delay ahead of their start; later ones keep waiting
HORIZON = timedelta(seconds=900)
# at most this many runs handed over by one promotion of a handler without a concurrency limit
PROMOTE_PAGE = 500


@dataclass(frozen=True)
class Admission:
    """What `admit` did: the runs it was given that now wait (held), and every run it handed over
    (those it was given that fit, and older ones of the line that fit too)."""

    held: frozenset[int] = frozenset()
    promoted: list[Execution] = field(default_factory=list)


NOTHING = Admission()


@dataclass
class _Candidate(_Row):
    id: int
    available_at: UtcDatetime
    concurrency_key: str | None
    handler_active: int


@dataclass(frozen=True)
class Usage:
    """A handler's runs for one concurrency key: PENDING, RUNNING, and waiting for its limits."""

    handler_name: str
    concurrency_key: str | None
    running: int
    pending: int
    waiting: int


# ids further apart than this are updated by separate statements: each scans its ids' range of the
# primary key (MySQL's must: sql/mysql/limits.sql, queue_for_limits)
RANGE_GAP = 1000


def _ranges(ids: list[int]) -> list[list[int]]:
    """Sorted ids in runs whose neighbours are at most RANGE_GAP apart (usually one run)."""
    chunks: list[list[int]] = []
    for run_id in ids:
        if chunks and run_id - chunks[-1][-1] <= RANGE_GAP:
            chunks[-1].append(run_id)
        else:
            chunks.append([run_id])
    return chunks


def limits_of_row(row: HandlerLimitsRow) -> Limits:
    rate = None
    if row.rate_limit is not None and row.rate_period_seconds is not None:
        rate = Rate(row.rate_limit, row.rate_period_seconds, row.rate_burst or 1)
    return Limits(concurrency=row.concurrency, per_key_concurrency=row.per_key_concurrency, rate=rate)


def next_start(rate: Rate, next_at: datetime | None) -> datetime | None:
    """When the rate lets the next run start (None: now): its cell rate algorithm's due time, less
    the burst's allowance."""
    if next_at is None:
        return None
    return next_at - timedelta(seconds=rate.interval_seconds * (rate.burst - 1))


# R: a run as its maker read it back, whole (Execution) or, a Kafka batch's, only what its send
# needs (RunRef)
def admitted[R: (Execution, RunRef)](runs: Sequence[R], admission: Admission) -> list[R | Execution]:
    """The runs as the limits left them: one held is WAITING, one handed over is as it was handed
    over (from its rate's time)."""
    promoted = {run.id: run for run in admission.promoted}
    return [promoted.get(run.id) or (_held(run) if run.id in admission.held else run) for run in runs]


def _held[R: (Execution, RunRef)](run: R) -> R:
    return replace(run, status=ExecutionStatus.WAITING, limit_state="queued")


def to_send[R: (Execution, RunRef)](runs: Sequence[R], admission: Admission) -> list[R | Execution]:
    """The runs to send after the commit: those of `runs` that may start, and the older runs of the
    limits' lines the admission handed over with them."""
    mine = {run.id for run in runs}
    ready = [run for run in admitted(runs, admission) if run.status is ExecutionStatus.PENDING]
    return ready + [run for run in admission.promoted if run.id not in mine]


def _schedule(
    candidates: Sequence[_Candidate], rate: Rate | None, next_at: datetime | None, *, now: datetime
) -> tuple[list[tuple[int, datetime]], datetime | None]:
    """When each candidate, in order, may start: its available_at, and under a rate its cell rate
    algorithm's time (`next_at`, the next due time, moves on by an interval each); the candidates
    whose time is past the horizon wait (the sweeper hands them over as it nears)."""
    horizon = now + HORIZON
    admitted: list[tuple[int, datetime]] = []
    for candidate in candidates:
        start = max(now, candidate.available_at)
        if rate is not None:
            allowed = next_start(rate, next_at)
            start = max(start, allowed) if allowed is not None else start
            if start > horizon:
                break
            interval = timedelta(seconds=rate.interval_seconds)
            next_at = (start if next_at is None else max(next_at, start)) + interval
        admitted.append((candidate.id, start))
    return admitted, next_at


def _start_interval(rate: Rate) -> timedelta:
    """The time between two starts under the rate, as take_start keeps it: rounded up to a whole
    millisecond, and one more (SQLite's times keep milliseconds), so a start is never early."""
    return timedelta(milliseconds=math.ceil(rate.interval_seconds * 1000) + 1)


class HandlerLimits(Rows):
    def __init__(self, connector: Connector) -> None:
        super().__init__(connector)
        # the code's limits of a handler (the manifest's); a test gives its own handlers theirs
        self.defaults: Callable[[str], Limits | None] = default_limits

    def effective(self, handler_name: str, row: HandlerLimitsRow | None) -> Limits:
        """The limits that apply: an operator's (the row, overridden), else the code's, else none."""
        if row is not None and row.overridden:
            return limits_of_row(row)
        return self.defaults(handler_name) or NO_LIMITS

    async def _lock_limited(self, conn: Any, handlers: Sequence[str], *, now: datetime) -> dict[str, Any]:
        """The handlers that have limits, each with its limits and its row, locked in name order.
        One read to find them (the others take no lock, and cost nothing more)."""
        names = self._j(sorted(set(handlers)))
        found = {
            row.handler_name: row
            for row in rows_to(
                HandlerLimitsRow, await self._select("handler_limits_rows", conn=conn, handlers=names)
            )
        }
        locked: dict[str, Any] = {}
        for name in sorted(set(handlers)):
            if self.effective(name, found.get(name)).any:
                row = await self._lock_one(conn, name, now=now)
                locked[name] = (self.effective(name, row), row)
        return locked

    async def _lock_one(self, conn: Any, name: str, *, now: datetime) -> HandlerLimitsRow | None:
        """The handler's row, locked; one with limits in its code gets its row on first use."""
        row = row_to(HandlerLimitsRow, await self._q.lock_handler_limit(conn, handler_name=name))
        if row is None and self.defaults(name) is not None:
            await self._q.ensure_handler_limits(conn, handlers=self._j([name]), now=self._t(now))
            row = row_to(HandlerLimitsRow, await self._q.lock_handler_limit(conn, handler_name=name))
        return row

    async def admit(self, conn: Any, runs: Sequence[tuple[int, str]], *, now: datetime) -> Admission:
        """Runs (id, handler) that just became PENDING in the transaction `conn`: those of handlers
        with limits join the line, and the line's runs that fit are handed over."""
        if not runs:
            return NOTHING
        locked = await self._lock_limited(conn, [handler for _, handler in runs], now=now)
        limited = {name for name, (limits, _) in locked.items() if limits.any}
        if not limited:
            return NOTHING
        ids = sorted({run_id for run_id, handler in runs if handler in limited})
        for chunk in _ranges(ids):
            await self._q.queue_for_limits(conn, ids=self._j(chunk), lo=chunk[0], hi=chunk[-1])
        promoted: list[Execution] = []
        for name in sorted(limited):
            limits, row = locked[name]
            added = sum(1 for run_id, handler in runs if handler == name)
            promoted += await self._promote_locked(conn, name, limits, row, now=now, added=added)
        held = frozenset(set(ids) - {run.id for run in promoted})
        if held:
            count(THROTTLED, len(held))
        return Admission(held=held, promoted=promoted)

    async def hand_over(self, runs: Sequence[Execution], *, now: datetime) -> list[Execution]:
        """Runs left PENDING and unsent on purpose until now (a debounce window's, once it closes):
        those of handlers with limits join the line, in a transaction of their own; the runs to send."""
        fresh = [(run.id, run.handler_name) for run in runs if run.limit_state is None]
        if not fresh:
            return list(runs)

        async def admitting(tx: Any) -> Admission:
            return await self.admit(tx, fresh, now=now)

        return to_send(runs, await self.connector.run(admitting, transaction=True))

    async def promote_after_end(
        self, conn: Any, handler_name: str, *, now: datetime, force: bool = False
    ) -> list[Execution]:
        """An admitted run of the handler ended in the transaction `conn`: hand over what now fits
        (nothing to look for when the row's `waiting` says none waits, unless `force`)."""
        row = await self._lock_one(conn, handler_name, now=now)
        limits = self.effective(handler_name, row)
        return await self._promote_locked(conn, handler_name, limits, row, now=now, force=force)

    async def promote(
        self, handler_name: str, *, now: datetime, conn: Any = None, force: bool = True
    ) -> list[Execution]:
        """The same in a transaction of its own; by default whatever the row's `waiting` says (the
        sweeper's, for runs whose time came near; a limit an operator changed)."""

        async def promoting(tx: Any) -> list[Execution]:
            return await self.promote_after_end(tx, handler_name, now=now, force=force)

        return await self._in_transaction(conn, promoting)

    async def end_admitted(self, conn: Any, handler_name: str, outcome: dict[str, Any]) -> tuple[bool, int]:
        """The end of a run admitted under the handler's limits, as one statement outside any
        transaction (finish_execution's `outcome`): whether it ended, and the runs the handler's line
        had then (sql/<dialect>/limits.sql, finish_admitted_execution: its share lock on the row
        waits for an admission in progress, which otherwise counts the run ended). MySQL has no
        UPDATE ... RETURNING: its locking read of the row follows the UPDATE's commit."""
        found = await self._q.finish_admitted_execution(conn, handler_name=handler_name, **outcome)
        if isinstance(found, int):  # MySQL: the rows the UPDATE matched
            if found != 1:
                return False, 0
            return True, int(await self._q.waiting_after_end(conn, handler_name=handler_name) or 0)
        return found is not None, 0 if found is None else int(dict(found)["waiting"] or 0)

    async def after_end(self, handler_name: str, *, now: datetime) -> list[Execution]:
        """After an admitted run's end found runs waiting (end_admitted): a promotion, in a
        transaction of its own."""
        return await self.promote(handler_name, now=now, force=False)

    # the rate at the start ---------------------------------------------------------------------------

    def claimed_rate(self, handler_name: str, claimed: Mapping[str, Any]) -> Rate | None:
        """The rate a claimed run must start within: the claim's limits_* columns are its handler's
        row when the run was admitted under the handler's limits (an operator's rate, else the
        code's); None: no rate (a run handed over without limits starts as it comes)."""
        overridden = claimed.get("limits_overridden")
        if overridden is None:
            return None
        if not overridden:
            return (self.defaults(handler_name) or NO_LIMITS).rate
        limit, period = claimed.get("limits_rate_limit"), claimed.get("limits_rate_period_seconds")
        if limit is None or period is None:
            return None
        return Rate(int(limit), int(period), int(claimed.get("limits_rate_burst") or 1))

    async def take_start(self, conn: Any, handler_name: str, rate: Rate, *, now: datetime) -> bool:
        """Whether a claimed run of the handler may start now under its rate, taking that start
        when it may (one statement, sql/<dialect>/limits.sql take_start). The hand-overs keep the
        rate already, but messages can reach workers late and together (a database restart, killed
        workers, redeliveries): this keeps it on the starts themselves (_start_interval)."""
        interval = _start_interval(rate)
        latest = now + interval * (rate.burst - 1)
        taken = await self._q.take_start(
            conn,
            handler_name=handler_name,
            now=self._t(now),
            latest=self._t(latest),
            interval_us=interval // timedelta(microseconds=1),
        )
        return self.connector.affected_rows(taken) == 1

    async def defer_start(
        self, conn: Any, run: Execution, rate: Rate, *, now: datetime, until: datetime | None = None
    ) -> Execution | None:
        """A claimed run its rate did not let start (take_start): PENDING again, unsent, from the
        next time the rate gives (after the starts' next due time, and a hand-over slot of its own,
        so the runs put back together come back spread out, not together again). In a transaction
        on `conn` (the worker's connection); the run to send, None when it was no longer this
        claim's. `until`: a message that came before the run's time (a stale one): back for that
        time, taking no new one."""

        async def deferring(tx: Any) -> Execution | None:
            put_back = await self._q.put_back_run(
                tx, id=run.id, attempt=run.retry_count, available_at=self._t(until or now)
            )
            if self.connector.affected_rows(put_back) != 1:
                return None
            row = None if until is not None else await self._lock_one(tx, run.handler_name, now=now)
            if row is None:  # its time kept, or no row (no rate)
                return Execution.from_row(await self._q.get_execution(tx, id=run.id))
            start = now
            if row.started_next_at is not None:  # when take_start would let a start through
                start = max(start, row.started_next_at - _start_interval(rate) * (rate.burst - 1))
            start = max(start, next_start(rate, row.rate_next_at) or start)
            next_at = max(row.rate_next_at or start, start) + timedelta(seconds=rate.interval_seconds)
            await self._turns(tx, row, added=0, admitted=0, rate_next_at=next_at)
            await self._q.defer_run(tx, id=run.id, available_at=self._t(start))
            return Execution.from_row(await self._q.get_execution(tx, id=run.id))

        async with self.connector.transaction_on(conn):
            return await deferring(conn)

    async def _promote_locked(
        self,
        conn: Any,
        handler_name: str,
        limits: Limits,
        row: HandlerLimitsRow | None,
        *,
        now: datetime,
        added: int = 0,
        force: bool = False,
    ) -> list[Execution]:
        """Hand over the waiting runs that fit: the concurrency left, each key's (the query), and
        the rate's times, each run from max(its available_at, its rate's time). `added`: the runs
        the caller just queued (the row's `waiting` counts them)."""
        if row is not None and row.waiting + added <= 0 and not force:
            return []  # `waiting` never counts fewer runs than wait: none does
        horizon = now + HORIZON
        page = limits.concurrency if limits.concurrency is not None else PROMOTE_PAGE
        found = self._q.limit_candidates(
            conn,
            handler_name=handler_name,
            per_key=limits.per_key_concurrency,
            horizon=self._t(horizon),
            now=self._t(now),
            limit=page,
            last_key=None if row is None else row.last_key,
        )
        candidates = rows_to(_Candidate, [found_row async for found_row in found])
        if not candidates:
            if row is not None:
                await self._none_fit(conn, row, added=added, force=force, horizon=horizon)
            return []
        free = page
        if limits.concurrency is not None:
            free = limits.concurrency - int(candidates[0].handler_active)
        next_at = row.rate_next_at if row is not None else None
        admitted, next_at = _schedule(candidates[: max(free, 0)], limits.rate, next_at, now=now)
        if row is not None and (admitted or added):
            turn = (candidates[len(admitted) - 1].concurrency_key or "") if admitted else row.last_key
            await self._turns(
                conn, row, added=added, admitted=len(admitted), rate_next_at=next_at, last_key=turn
            )
        starts = dict(admitted)
        for chunk in _ranges(sorted(starts)):
            runs = {str(run_id): self.connector.encode_json_time(starts[run_id]) for run_id in chunk}
            await self._q.admit_runs(conn, runs=self._j(runs), lo=chunk[0], hi=chunk[-1])
        if force and row is not None:
            # the sweeper's (or an operator's): runs whose run_at has come near join the count, so
            # the ends that follow hand them over too
            await self._q.recount_waiting(conn, handler_name=handler_name, horizon=self._t(horizon))
        if not admitted:
            return []
        ids = self._j([run_id for run_id, _ in admitted])
        return rows_to(Execution, [row async for row in self._q.unqueued_executions_by_ids(conn, ids=ids)])

    async def _none_fit(
        self, conn: Any, row: HandlerLimitsRow, *, added: int, force: bool, horizon: datetime
    ) -> None:
        """No run of the line may start now: the row's count of it, kept right."""
        if added and not force:
            await self._turns(conn, row, added=added, admitted=0, rate_next_at=row.rate_next_at)
        elif force or row.waiting:  # it may count runs since cancelled or expired: recount
            await self._q.recount_waiting(conn, handler_name=row.handler_name, horizon=self._t(horizon))

    async def _turns(
        self,
        conn: Any,
        row: HandlerLimitsRow,
        *,
        added: int,
        admitted: int,
        rate_next_at: datetime | None,
        last_key: str | None = None,
    ) -> None:
        """The row after an admission or a promotion: the rate's state, whose turn it was, and its
        line's runs (a handler without a row has none of them)."""
        await self._q.set_limit_turns(
            conn,
            handler_name=row.handler_name,
            rate_next_at=self._t(rate_next_at),
            last_key=(last_key if last_key is not None else row.last_key) or "",
            added=added,
            admitted=admitted,
        )

    async def waiting_per_handler(self) -> dict[str, int]:
        """The runs waiting in each handler's line."""
        rows = await self._select("queued_per_handler")
        return {str(found["handler_name"]): int(found["waiting"]) for found in (dict(row) for row in rows)}

    async def handlers_with_queued(self, *, now: datetime, limit: int) -> list[str]:
        """Handlers whose line has runs that may start by the horizon (the sweeper promotes them)."""
        rows = await self._select("handlers_with_queued_runs", horizon=self._t(now + HORIZON), limit=limit)
        return [str(dict(row)["handler_name"]) for row in rows]

    # operators ------------------------------------------------------------------------------------

    async def rows(self, *, conn: Any = None) -> list[HandlerLimitsRow]:
        return rows_to(HandlerLimitsRow, await self._select("all_handler_limits", conn=conn))

    async def row(self, handler_name: str, *, conn: Any = None) -> HandlerLimitsRow | None:
        found = [row for row in await self.rows(conn=conn) if row.handler_name == handler_name]
        return found[0] if found else None

    async def set(
        self, handler_name: str, limits: Limits, *, now: datetime, updated_by: str | None, conn: Any
    ) -> None:
        """An operator's limits for the handler, in the caller's transaction: from the next run
        that starts (the caller promotes what the new limits let through)."""
        rate = limits.rate
        await self._q.upsert_handler_limits(
            conn,
            handler_name=handler_name,
            concurrency=limits.concurrency,
            per_key_concurrency=limits.per_key_concurrency,
            rate_limit=None if rate is None else rate.limit,
            rate_period_seconds=None if rate is None else rate.period_seconds,
            rate_burst=None if rate is None else rate.burst,
            now=self._t(now),
            updated_by=updated_by,
        )

    async def clear(self, handler_name: str, *, now: datetime, updated_by: str | None, conn: Any) -> bool:
        """Back to the code's limits; False when the operator had set none."""
        cleared = await self._q.clear_handler_limits(
            conn, handler_name=handler_name, now=self._t(now), updated_by=updated_by
        )
        return self.connector.affected_rows(cleared) > 0

    async def usage(self, handler_name: str | None = None, *, conn: Any = None) -> list[Usage]:
        rows = await self._select("limit_usage", conn=conn, handler_name=handler_name)
        return [
            Usage(
                handler_name=str(found["handler_name"]),
                concurrency_key=found["concurrency_key"],
                running=int(found["running"] or 0),
                pending=int(found["pending"] or 0),
                waiting=int(found["waiting"] or 0),
            )
            for found in (dict(row) for row in rows)
        ]
