"""Batches: up to 10,000 runs made together, and the callback runs made once the last of them ended.

A batch request is {"runs": [...], "on_success": {"handler_name", "params"}, "on_complete": {...}}.
Each item of `runs` is a run request exactly as POST /api/runs takes it, checked by the same code
(jobu.operations.enqueue.check_request), except `idempotency_key` and `debounce`: a batch's runs are
all made or none, so a run that would not be made (its key held, its debounce window open) has no
place in it. A batch is whole: one bad
item refuses the whole batch (400, its field named with the item's index: `runs[3].params`), and the
batch row and every run are inserted in one transaction (in pages of 500 rows a statement), with one
audit row (batch.create); their messages are sent after the commit in batches of ten, and a run
whose message was not sent is the sweeper's to send, as every run's.

A batch may carry its own `idempotency_key` (checked as a run's: 1-200 printable characters) and
`idempotency_ttl_seconds` (1 s to a year, default a day), so a client that retries the request (its
answer lost to a timeout) makes no second batch: within the TTL the key's batch is the answer,
`deduplicated`, and nothing is made. The key is claimed in the batch's transaction as a run's is
(jobu.store.batches.claim_key): of two requests at once, one makes the batch.

The callbacks are each {"handler_name", "params"}, the params checked against the handler's schema
with the `batch` key they will carry: {"id", "status", "total", "succeeded", "failed", "timed_out",
"cancelled", "expired"}. When the last child ends (jobu.store.batches) `on_success` runs if every
child succeeded, `on_complete` always.

Cancelling a batch (batch.cancel) cancels its WAITING and PENDING children in one transaction; its
RUNNING children finish as they will (each can be cancelled as a run). The batch then ends as soon
as they have: CANCELLED unless every child succeeded after all. A batch whose children were cancelled
one by one (or by a bulk cancel) ends CANCELLED too, when none of the others failed, timed out or
expired (jobu.store.batches.batch_status).
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from jobu.documents import FieldError
from jobu.errors import InvalidCronJobError, InvalidRequestError, NotFoundError
from jobu.event_dispatch import EVENT_DEFAULT_MAX_RETRY, EVENT_DEFAULT_TIMEOUT_SECONDS
from jobu.models import Batch, Execution, ExecutionStatus, NewExecution
from jobu.operations.audit import Actor, Change, audited
from jobu.operations.cron_jobs import check_params
from jobu.operations.enqueue import check_request
from jobu.operations.paging import Page, PageRequest
from jobu.run_options import idempotency
from jobu.store import JobStore
from jobu.store.batches import BATCH_PARAM, BatchCancel, KeyHeld, callback_params
from jobu.work_queue import WorkQueue, dispatch_new_runs, enqueue, ready_runs

MAX_BATCH_RUNS = 10_000
CALLBACKS = ("on_success", "on_complete")
BATCH_CANCELLED_REASON = "cancelled with its batch by an operator"
_KEY_FIELDS = ("idempotency_key", "idempotency_ttl_seconds")
_REQUEST_FIELDS = frozenset({"runs", *CALLBACKS, *_KEY_FIELDS})
# what may make a request's run not a new run of its own (another run holds its key, or its window)
_NOT_IN_A_BATCH = ("idempotency_key", "debounce")
# a callback's params as its handler's schema is asked about them: the batch it will carry
_SAMPLE_BATCH = {
    "id": 1,
    "status": "SUCCESS",
    "total": 1,
    "succeeded": 1,
    "failed": 0,
    "timed_out": 0,
    "cancelled": 0,
    "expired": 0,
}


class BatchView(BaseModel):
    """A batch as the API shows it."""

    id: int
    total: int = Field(description="its runs")
    status: str = Field(
        description="RUNNING until its last run ended; then SUCCESS (every run succeeded), CANCELLED (it "
        "was cancelled, or every run that did not succeed was cancelled) or FAILED"
    )
    succeeded: int = Field(description="runs that ended SUCCESS")
    failed: int = Field(description="runs that ended FAILED (their retries spent)")
    timed_out: int = Field(description="runs that ended TIMEOUT (their retries spent)")
    cancelled: int = Field(description="runs that ended CANCELLED")
    expired: int = Field(description="runs that ended EXPIRED")
    ended: int = Field(description="runs that ended, of total")
    counts: dict[str, int] | None = Field(
        default=None, description="its runs by status now (the detail only)"
    )
    on_success: dict[str, Any] | None = Field(description="the run made when every run succeeded")
    on_complete: dict[str, Any] | None = Field(description="the run made when every run ended")
    callback_run_id: int | None = Field(
        description="the callback run made (on_success's when both were made); null until the batch ended"
    )
    success_run_id: int | None = None
    complete_run_id: int | None = None
    created_by: str
    created_at: datetime
    cancelled_at: datetime | None = None
    finished_at: datetime | None = None
    idempotency_key: str | None = Field(default=None, description="the key its request carried")

    @classmethod
    def of(cls, batch: Batch, counts: dict[str, int] | None = None) -> BatchView:
        def link(spec: dict[str, Any] | None) -> dict[str, Any] | None:
            return None if spec is None else {"handler_name": spec["handler_name"], "params": spec["params"]}

        return cls(
            id=batch.id,
            total=batch.total,
            status=batch.status,
            succeeded=batch.succeeded,
            failed=batch.failed,
            timed_out=batch.timed_out,
            cancelled=batch.cancelled,
            expired=batch.expired,
            ended=batch.ended,
            counts=counts,
            on_success=link(batch.on_success),
            on_complete=link(batch.on_complete),
            callback_run_id=batch.success_run_id or batch.complete_run_id,
            success_run_id=batch.success_run_id,
            complete_run_id=batch.complete_run_id,
            created_by=batch.created_by,
            created_at=batch.created_at,
            cancelled_at=batch.cancelled_at,
            finished_at=batch.finished_at,
            idempotency_key=batch.idempotency_key,
        )


class BatchCreated(BaseModel):
    batch: BatchView | None = Field(
        description="the batch made; deduplicated: the batch holding the idempotency key (null: deleted "
        "since by retention)"
    )
    run_ids: list[int] = Field(description="its runs' ids, ascending")
    deduplicated: bool = Field(
        default=False, description="true: a batch holds the idempotency key within its TTL; nothing made"
    )


@dataclass(frozen=True)
class CheckedBatch:
    """A batch request, checked: its runs, its callbacks, and its idempotency key and its TTL."""

    runs: list[NewExecution]
    on_success: dict[str, Any] | None
    on_complete: dict[str, Any] | None
    idempotency_key: str | None = None
    idempotency_ttl_seconds: int = 0


class BatchCancelled(BaseModel):
    batch: BatchView
    cancelled: int = Field(description="WAITING and PENDING runs cancelled now (RUNNING ones finish)")


# checking a request ------------------------------------------------------------------------------


def _refuse(field: str, detail: str) -> InvalidRequestError:
    return InvalidRequestError(f"{field}: {detail}", field=field)


def _check_callback(
    document: Mapping[str, Any], name: str, known_handlers: Set[str]
) -> dict[str, Any] | None:
    link = document.get(name)
    if link is None:
        return None
    if not isinstance(link, Mapping):
        raise _refuse(name, "should be an object {handler_name, params}")
    unknown = sorted(set(link) - {"handler_name", "params"})
    if unknown:
        raise _refuse(f"{name}.{unknown[0]}", "unknown field (a callback has handler_name and params)")
    handler_name = link.get("handler_name")
    if not isinstance(handler_name, str) or handler_name not in known_handlers:
        known = ", ".join(sorted(known_handlers))
        raise _refuse(f"{name}.handler_name", f"unknown handler {handler_name!r}; registered: {known}")
    params = link.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise _refuse(f"{name}.params", "should be an object")
    if BATCH_PARAM in params:
        raise _refuse(f"{name}.params.{BATCH_PARAM}", "reserved: the callback's params carry its batch there")
    try:  # as the run will be: with its batch
        check_params(handler_name, callback_params(params, _SAMPLE_BATCH), field=f"{name}.params")
    except InvalidCronJobError as error:
        raise InvalidRequestError(str(error), field=error.field) from None
    return {
        "handler_name": handler_name,
        "params": dict(params),
        "max_retry": EVENT_DEFAULT_MAX_RETRY,
        "timeout_seconds": EVENT_DEFAULT_TIMEOUT_SECONDS,
    }


def check_batch(
    document: Any, *, known_handlers: Set[str], now: datetime, trace_parent: str | None = None
) -> CheckedBatch:
    """The runs, callbacks and key a batch request asks for; InvalidRequestError names the first
    field at fault (`runs[i].<field>` for an item)."""
    if not isinstance(document, Mapping):
        raise InvalidRequestError("a batch request must be a JSON object")
    unknown = sorted(set(document) - _REQUEST_FIELDS)
    if unknown:
        raise _refuse(
            unknown[0],
            "unknown field (a batch has runs, on_success, on_complete, idempotency_key and "
            "idempotency_ttl_seconds)",
        )
    try:
        key, key_ttl = idempotency(document)
    except FieldError as error:
        raise _refuse(error.field, error.message) from None
    items = document.get("runs")
    if not isinstance(items, list) or not items:
        raise _refuse("runs", "should be a non-empty list of run requests")
    if len(items) > MAX_BATCH_RUNS:
        raise _refuse("runs", f"at most {MAX_BATCH_RUNS} runs in one batch, not {len(items)}")
    runs: list[NewExecution] = []
    for index, item in enumerate(items):
        where = f"runs[{index}]"
        for name in _NOT_IN_A_BATCH:
            if isinstance(item, Mapping) and item.get(name) is not None:
                raise _refuse(f"{where}.{name}", "not taken in a batch: its runs are all made, or none")
        try:
            runs.append(
                check_request(item, known_handlers=known_handlers, now=now, trace_parent=trace_parent)
            )
        except InvalidRequestError as error:
            field = where if error.field is None else f"{where}.{error.field}"
            raise InvalidRequestError(f"{where}: {error}", field=field) from None
    return CheckedBatch(
        runs,
        _check_callback(document, "on_success", known_handlers),
        _check_callback(document, "on_complete", known_handlers),
        key,
        key_ttl,
    )


# the operations ----------------------------------------------------------------------------------


async def create(
    store: JobStore,
    queue: WorkQueue,
    document: Any,
    *,
    known_handlers: Set[str],
    now: datetime,
    actor: Actor,
    trace_parent: str | None = None,
) -> BatchCreated:
    """A batch and its runs (InvalidRequestError when any part of the request is wrong), queued; or,
    when another request holds its idempotency key, that request's batch and nothing made."""
    checked = check_batch(document, known_handlers=known_handlers, now=now, trace_parent=trace_parent)
    runs, on_success, on_complete, key = (
        checked.runs,
        checked.on_success,
        checked.on_complete,
        checked.idempotency_key,
    )

    async def make(change: Change) -> tuple[Batch, list[Execution]] | KeyHeld:
        if key is not None:
            expires_at = now + timedelta(seconds=checked.idempotency_ttl_seconds)
            held = await store.batches.claim_key(key, expires_at=expires_at, now=now, conn=change.conn)
            if held is not None:  # recorded still: who asked, and whose batch answered
                change.target_id = None if held.batch_id is None else str(held.batch_id)
                change.record(after={"deduplicated": True, "idempotency_key": key})
                return held
        batch, children = await store.batches.create(
            runs,
            on_success=on_success,
            on_complete=on_complete,
            created_by=actor.principal,
            now=now,
            conn=change.conn,
            idempotency_key=key,
        )
        change.target_id = str(batch.id)
        change.record(
            after={
                "total": batch.total,
                "handlers": sorted({run.handler_name for run in runs}),
                **{
                    name: None if link is None else link["handler_name"]
                    for name, link in (("on_success", on_success), ("on_complete", on_complete))
                },
                **({} if key is None else {"idempotency_key": key}),
            }
        )
        return batch, children

    made = await audited(store, actor, "batch.create", "batch", now=now, change=make)
    if isinstance(made, KeyHeld):
        if made.batch_id is None:
            return BatchCreated(batch=None, run_ids=[], deduplicated=True)
        held = await get(store, made.batch_id)
        return BatchCreated(
            batch=held, run_ids=await store.batches.child_ids(made.batch_id), deduplicated=True
        )
    batch, children = made
    await dispatch_new_runs(store, queue, children, now=now, message="batch run enqueued")
    return BatchCreated(batch=BatchView.of(batch), run_ids=[run.id for run in children])


async def get(store: JobStore, batch_id: int) -> BatchView:
    batch = await store.batches.get(batch_id)
    if batch is None:
        raise NotFoundError(f"no batch with id {batch_id}")
    return BatchView.of(batch, await store.batches.status_counts(batch_id))


async def list_page(store: JobStore, request: PageRequest, *, status: str | None = None) -> Page[BatchView]:
    total = await store.batches.count(status=status)
    batches = await store.batches.page(limit=request.size, offset=request.offset, status=status)
    return Page.of([BatchView.of(batch) for batch in batches], total=total, request=request)


async def cancel(
    store: JobStore, queue: WorkQueue, batch_id: int, *, now: datetime, actor: Actor
) -> BatchCancelled:
    """Cancel the batch's WAITING and PENDING runs; its callbacks are queued if that ended it."""

    async def stop(change: Change) -> BatchCancel:
        done = await store.batches.cancel(batch_id, reason=BATCH_CANCELLED_REASON, now=now, conn=change.conn)
        if done is None:
            raise NotFoundError(f"no batch with id {batch_id}")
        change.record(after={"cancelled": done.cancelled})
        return done

    done = await audited(store, actor, "batch.cancel", "batch", batch_id, now=now, change=stop)
    await dispatch_new_runs(store, queue, list(done.callbacks), now=now, message="batch callback enqueued")
    # the slots of their handlers' limits the cancelled runs held: what waits for them starts now
    # (else the sweeper's next tick would hand it over)
    for handler_name in done.freed_handlers:
        released = await store.limits.promote(handler_name, now=now)
        await enqueue(store, queue, ready_runs(released, now), now=now)
    cancelled = done.cancelled
    return BatchCancelled(batch=await get(store, batch_id), cancelled=cancelled)


async def send_callbacks(store: JobStore, queue: WorkQueue, batch_id: int, *, now: datetime) -> None:
    """Queue the batch's callback runs not sent yet (one made by a cancelled child's end); else the
    sweeper sends them. A second message for a run is harmless: its claim lets one through."""
    batch = await store.batches.get(batch_id)
    if batch is None:
        return
    unsent = []
    for run_id in (batch.success_run_id, batch.complete_run_id):
        run = None if run_id is None else await store.runs.get(run_id)
        if run is not None and run.status is ExecutionStatus.PENDING and run.queued_at is None:
            unsent.append(run)
    await dispatch_new_runs(store, queue, unsent, now=now, message="batch callback enqueued")
