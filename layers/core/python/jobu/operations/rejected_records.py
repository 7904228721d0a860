"""Kafka records the queue dispatcher refused (rejected_events): list, show, replay, discard.

Replay hands the stored value to the queue dispatcher's own code (jobu.event_dispatch.dispatch_event),
as a one-record event at the record's own coordinates, e.g. after the handler it named was deployed.
The run it makes is keyed by those coordinates like any event run, so replaying twice, or a replay
racing a redelivery of the record, makes at most one run. A record that becomes a run is removed
from the rejected records (the run keeps its coordinates); one refused again stays, with the new
reason, and the answer says why; one discarded while the replay ran stays discarded.
"""

from __future__ import annotations

import base64
from collections.abc import Set
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from jobu.errors import InvalidStateError, NotFoundError
from jobu.event_dispatch import dispatch_event
from jobu.listings import RejectedEvent, RejectedEventSummary
from jobu.models import Execution
from jobu.operations.audit import Actor, Change, audited, fields_of
from jobu.operations.paging import Page, PageRequest
from jobu.store import JobStore
from jobu.work_queue import WorkQueue


class ReplayResult(BaseModel):
    outcome: Literal["dispatched", "rejected"] = Field(
        description="dispatched: the record is now a run (made by this replay or an earlier one); "
        "rejected: refused again, for `reason`"
    )
    run: Execution | None = None
    reason: str | None = None


async def list_page(store: JobStore, request: PageRequest) -> Page[RejectedEventSummary]:
    total = await store.rejected_records.count()
    items = await store.rejected_records.page(limit=request.size, offset=request.offset)
    return Page[RejectedEventSummary].of(items, total=total, request=request)


# what the audit trail keeps of a record it replays or discards (its value stays out: it can be
# large, and the record's coordinates find it again in the topic)
RECORD_FIELDS = ("source_topic", "source_partition", "source_offset", "record_key", "reason")


async def get(store: JobStore, rejected_id: int, *, conn: Any = None) -> RejectedEvent:
    record = await store.rejected_records.get(rejected_id, conn=conn)
    if record is None:
        raise NotFoundError(f"no rejected record with id {rejected_id}")
    return record


def _value(record: RejectedEvent) -> str | None:
    """The record's value as the event carries it (base64), or None for a tombstone."""
    if record.raw_encoding == "none":
        return None
    if record.raw_encoding == "base64":
        return record.raw_value
    return base64.b64encode(record.raw_value.encode("utf-8", "surrogatepass")).decode("ascii")


async def replay(
    store: JobStore,
    queue: WorkQueue,
    rejected_id: int,
    *,
    known_handlers: Set[str],
    now: datetime,
    actor: Actor,
) -> ReplayResult:
    """The run is made (and queued) by the queue dispatcher's own code, keyed by the record's
    coordinates; the rejected record's removal and the audit row are then one transaction."""
    record = await get(store, rejected_id)
    topic, partition, offset = record.source_topic, record.source_partition, record.source_offset
    if topic is None or partition is None or offset is None:
        raise InvalidStateError(
            f"rejected record {rejected_id} has no Kafka coordinates (its envelope was broken): there is no "
            "record value to replay; discard it"
        )
    event = {
        "eventSource": "jobu:replay",
        "records": {
            f"{topic}-{partition}": [
                {"topic": topic, "partition": partition, "offset": offset, "value": _value(record)}
            ]
        },
    }
    # a refusal is not stored again: a discard made meanwhile must not be undone by this replay
    report = await dispatch_event(
        store, queue, event, known_handlers=known_handlers, now=now, keep_rejected=False
    )
    run = await store.runs.for_source(topic, partition, offset)

    async def settle(change: Change) -> ReplayResult:
        if run is None:
            reason = report.rejected[0].split(": ", 1)[-1] if report.rejected else "refused"
            await store.rejected_records.set_reason(rejected_id, reason, conn=change.conn)
            outcome: dict[str, Any] = {"outcome": "rejected", "reason": reason}
            change.record(before=fields_of(record, RECORD_FIELDS), after=outcome)
            return ReplayResult(outcome="rejected", reason=reason)
        await store.rejected_records.delete(rejected_id, conn=change.conn)
        outcome = {"outcome": "dispatched", "run_id": run.id}
        change.record(before=fields_of(record, RECORD_FIELDS), after=outcome)
        return ReplayResult(outcome="dispatched", run=run)

    return await audited(
        store, actor, "rejected_record.replay", "rejected_record", rejected_id, now=now, change=settle
    )


async def discard(store: JobStore, rejected_id: int, *, now: datetime, actor: Actor) -> None:

    async def remove(change: Change) -> None:
        record = await get(store, rejected_id, conn=change.conn)
        if not await store.rejected_records.delete(rejected_id, conn=change.conn):
            raise NotFoundError(f"no rejected record with id {rejected_id}")
        change.record(before=fields_of(record, RECORD_FIELDS))

    await audited(
        store, actor, "rejected_record.discard", "rejected_record", rejected_id, now=now, change=remove
    )
