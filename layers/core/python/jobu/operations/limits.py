"""Handlers' concurrency and rate limits (jobu.limits): list them with what they hold back, read,
set and clear one handler's (audited: operation limits.set / limits.clear, target handler).

A body is {"concurrency": N|null, "per_key_concurrency": N|null, "rate": {"limit": N,
"period_seconds": S, "burst": B}|null}; a field left out is null (no such limit). Set replaces the
code's limits (the handler manifest's) from the next run that starts; clear goes back to them.
Either hands over, in its transaction, the waiting runs the new limits let through, and sends them
after the commit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Set
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from jobu.documents import FieldError
from jobu.errors import InvalidLimitsError, NotFoundError
from jobu.limits import Limits, Rate
from jobu.models import Execution, HandlerLimitsRow
from jobu.operations.audit import Actor, Change, audited
from jobu.store import JobStore
from jobu.store.limits import Usage, limits_of_row, next_start
from jobu.work_queue import WorkQueue, enqueue, ready_runs


class RateSpec(BaseModel):
    limit: int = Field(description="starts per period")
    period_seconds: int
    burst: int = Field(description="starts at once, at most (1: evenly spaced)")


class LimitsSpec(BaseModel):
    concurrency: int | None = Field(description="runs PENDING or RUNNING at once; null: no limit")
    per_key_concurrency: int | None = Field(description="the same per concurrency_key; null: no limit")
    rate: RateSpec | None = Field(description="starts per period; null: no limit")

    @classmethod
    def of(cls, limits: Limits) -> LimitsSpec:
        rate = limits.rate
        return cls(
            concurrency=limits.concurrency,
            per_key_concurrency=limits.per_key_concurrency,
            rate=None
            if rate is None
            else RateSpec(limit=rate.limit, period_seconds=rate.period_seconds, burst=rate.burst),
        )


class KeyUsage(BaseModel):
    concurrency_key: str | None = Field(description="null: the runs without a key")
    running: int
    pending: int = Field(description="handed over, not started yet")
    waiting: int = Field(description="waiting for the limits")


class HandlerLimitsStatus(BaseModel):
    handler_name: str
    source: Literal["override", "code", "none"] = Field(
        description="whose limits apply: an operator's, the handler's code's, or none"
    )
    limits: LimitsSpec = Field(description="the limits that apply")
    defaults: LimitsSpec | None = Field(description="the handler's code's limits; null: none")
    running: int
    pending: int
    waiting: int
    rate_used: int | None = Field(description="of the rate's burst, the starts not yet earned back")
    next_start_at: datetime | None = Field(description="when the rate lets the next run start; null: now")
    keys: list[KeyUsage] = Field(description="each concurrency key with runs active or waiting")
    updated_at: datetime | None = Field(description="when an operator last set or cleared them")
    updated_by: str | None


def _status(
    store: JobStore,
    handler_name: str,
    row: HandlerLimitsRow | None,
    usage: list[Usage],
    *,
    now: datetime,
) -> HandlerLimitsStatus:
    defaults = store.limits.defaults(handler_name)
    if row is not None and row.overridden:
        source: Literal["override", "code", "none"] = "override"
        limits = limits_of_row(row)
    else:
        source = "code" if defaults is not None else "none"
        limits = defaults or Limits()
    next_at = None if row is None else row.rate_next_at
    rate_used = next_start_at = None
    if limits.rate is not None:
        rate_used = _rate_used(limits.rate, next_at, now)
        allowed = next_start(limits.rate, next_at)
        next_start_at = allowed if allowed is not None and allowed > now else None
    mine = [u for u in usage if u.handler_name == handler_name]
    return HandlerLimitsStatus(
        handler_name=handler_name,
        source=source,
        limits=LimitsSpec.of(limits),
        defaults=None if defaults is None else LimitsSpec.of(defaults),
        running=sum(u.running for u in mine),
        pending=sum(u.pending for u in mine),
        waiting=sum(u.waiting for u in mine),
        rate_used=rate_used,
        next_start_at=next_start_at,
        keys=[
            KeyUsage(
                concurrency_key=u.concurrency_key, running=u.running, pending=u.pending, waiting=u.waiting
            )
            for u in mine
        ],
        updated_at=None if row is None or row.updated_by is None else row.updated_at,
        updated_by=None if row is None else row.updated_by,
    )


def _rate_used(rate: Rate, next_at: datetime | None, now: datetime) -> int:
    """The burst's starts taken and not yet earned back (one every interval)."""
    if next_at is None or next_at <= now:
        return 0
    return min(rate.burst, math.ceil((next_at - now).total_seconds() / rate.interval_seconds))


def _known(handler_name: str, known_handlers: Set[str]) -> None:
    if handler_name not in known_handlers:
        raise NotFoundError(f"no handler {handler_name!r} is deployed")


async def list_limits(
    store: JobStore, *, known_handlers: Set[str], now: datetime
) -> list[HandlerLimitsStatus]:
    """Every handler with limits (its code's or an operator's), or with runs waiting for them."""
    rows = {row.handler_name: row for row in await store.limits.rows()}
    usage = await store.limits.usage()
    names = {name for name in known_handlers if store.limits.defaults(name) is not None}
    names |= {name for name, row in rows.items() if row.overridden}
    names |= {u.handler_name for u in usage if u.waiting}
    return [_status(store, name, rows.get(name), usage, now=now) for name in sorted(names)]


async def get_limits(
    store: JobStore, handler_name: str, *, known_handlers: Set[str], now: datetime
) -> HandlerLimitsStatus:
    _known(handler_name, known_handlers)
    row = await store.limits.row(handler_name)
    return _status(store, handler_name, row, await store.limits.usage(handler_name), now=now)


def parse_limits(body: Any) -> Limits:
    """A request's body as limits; InvalidLimitsError names the field that is wrong."""
    if not isinstance(body, Mapping):
        raise InvalidLimitsError("the body should be a JSON object", field="body")
    try:
        return Limits.parse(body)
    except FieldError as error:
        raise InvalidLimitsError(str(error), field=error.field) from None


async def set_limits(
    store: JobStore,
    queue: WorkQueue,
    handler_name: str,
    body: Any,
    *,
    known_handlers: Set[str],
    now: datetime,
    actor: Actor,
) -> HandlerLimitsStatus:
    _known(handler_name, known_handlers)
    limits = parse_limits(body)

    async def change(step: Change) -> list[Execution]:
        before = await store.limits.row(handler_name, conn=step.conn)
        await store.limits.set(handler_name, limits, now=now, updated_by=actor.principal, conn=step.conn)
        step.record(_audited(handler_name, before, store), limits.to_json())
        return await store.limits.promote(handler_name, now=now, conn=step.conn)

    released = await audited(store, actor, "limits.set", "handler", handler_name, now=now, change=change)
    await enqueue(store, queue, ready_runs(released, now), now=now)
    return await get_limits(store, handler_name, known_handlers=known_handlers, now=now)


async def clear_limits(
    store: JobStore,
    queue: WorkQueue,
    handler_name: str,
    *,
    known_handlers: Set[str],
    now: datetime,
    actor: Actor,
) -> HandlerLimitsStatus:
    """Back to the code's limits (none, if it sets none); clearing limits never set is no change."""
    _known(handler_name, known_handlers)

    async def change(step: Change) -> list[Execution]:
        before = await store.limits.row(handler_name, conn=step.conn)
        if not await store.limits.clear(handler_name, now=now, updated_by=actor.principal, conn=step.conn):
            step.record(None, None)
            return []
        defaults = store.limits.defaults(handler_name)
        step.record(_audited(handler_name, before, store), None if defaults is None else defaults.to_json())
        return await store.limits.promote(handler_name, now=now, conn=step.conn)

    released = await audited(store, actor, "limits.clear", "handler", handler_name, now=now, change=change)
    await enqueue(store, queue, ready_runs(released, now), now=now)
    return await get_limits(store, handler_name, known_handlers=known_handlers, now=now)


def _audited(handler_name: str, row: HandlerLimitsRow | None, store: JobStore) -> dict[str, Any] | None:
    """The limits that applied before the change, as the audit row keeps them."""
    limits = store.limits.effective(handler_name, row)
    return limits.to_json() if limits.any else None
