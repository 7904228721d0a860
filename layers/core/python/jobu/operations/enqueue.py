"""Enqueue: runs of a handler asked for through the admin API (param_source 'api'), one or a batch.

A request is a JSON object like a Kafka record's value: handler_name, params and the flow control
fields, checked by the same code (JobMessage.parse, RunOptions) and the params by the handler's
schema as a record's are. Within its TTL an idempotency key already held makes no new run: the
answer is the run that holds it, deduplicated. A request with `debounce` joins its key's waiting
run, or opens a window with a new run (jobu.store.debounce); either is left unsent until it
starts. The runs of a batch are made in one transaction, with
one audit row each (operation run.enqueue: who enqueued it), and their messages sent after the commit
in batches of ten; a delay past SQS's 15 minutes is the sweeper's to send when due. A bad request in
a batch is answered on its own and never blocks the others. The request's W3C `traceparent` header,
checked by the caller (jobu.traces), is kept on each run it makes, as a Kafka record's is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from jobu.documents import FieldError
from jobu.errors import InvalidCronJobError, InvalidRequestError
from jobu.event_dispatch import EVENT_DEFAULT_MAX_RETRY, EVENT_DEFAULT_TIMEOUT_SECONDS
from jobu.models import Execution, JobMessage, NewExecution
from jobu.operations.audit import Actor, fields_of
from jobu.operations.cron_jobs import check_params
from jobu.store import JobStore
from jobu.store.audit import NewOperatorAction
from jobu.work_queue import WorkQueue, dispatch_new_runs

MAX_BATCH = 500
# what the audit trail keeps of an enqueued run
ENQUEUED_FIELDS = (
    "handler_name",
    "status",
    "param_source",
    "available_at",
    "idempotency_key",
    "priority",
    "tags",
)


class Enqueued(BaseModel):
    run: Execution | None = Field(
        description="the run made; deduplicated: the run holding the idempotency key (null: none is left)"
    )
    deduplicated: bool = Field(description="true: a run holds the idempotency key within its TTL; no new run")
    debounced: bool = Field(
        default=False,
        description="true: the request joined its debounce key's waiting run (params replaced, start "
        "moved); no new run",
    )


class EnqueueFailure(BaseModel):
    error: str = Field(description="invalid_request")
    detail: str = Field(description="what is wrong")
    field: str | None = Field(default=None, description="the request's field at fault")


class BatchResult(BaseModel):
    results: list[Enqueued | EnqueueFailure] = Field(description="one per request, in order")


@dataclass(frozen=True)
class _Checked:
    index: int
    run: NewExecution


def check_request(
    document: Any, *, known_handlers: Set[str], now: datetime, trace_parent: str | None = None
) -> NewExecution:
    """The run one request asks for; InvalidRequestError names the field at fault."""
    if not isinstance(document, Mapping):
        raise InvalidRequestError("a run request must be a JSON object")
    try:
        message = JobMessage.parse(document)
        if message.job_id is not None:
            raise FieldError("job_id", "not taken here: a cron job's run is started with its run now")
        if message.handler_name not in known_handlers:
            known = ", ".join(sorted(known_handlers))
            raise FieldError("handler_name", f"unknown handler {message.handler_name!r}; registered: {known}")
        flow_control = message.options.run_fields(now)
    except FieldError as error:
        raise InvalidRequestError(str(error), field=error.field) from None
    try:
        check_params(message.handler_name, message.params, field="params")
    except InvalidCronJobError as error:
        raise InvalidRequestError(str(error), field=error.field) from None
    return NewExecution(
        job_id=None,
        handler_name=message.handler_name,
        params=dict(message.params),
        param_source="api",
        max_retry=EVENT_DEFAULT_MAX_RETRY,
        timeout_seconds=EVENT_DEFAULT_TIMEOUT_SECONDS,
        trace_parent=trace_parent,
        **flow_control,
    )


async def enqueue_one(
    store: JobStore,
    queue: WorkQueue,
    document: Any,
    *,
    known_handlers: Set[str],
    now: datetime,
    actor: Actor,
    trace_parent: str | None = None,
) -> Enqueued:
    """One run; InvalidRequestError when the request is wrong."""
    run = check_request(document, known_handlers=known_handlers, now=now, trace_parent=trace_parent)
    (result,) = await _insert(store, queue, [_Checked(0, run)], now=now, actor=actor)
    return result


async def enqueue_batch(
    store: JobStore,
    queue: WorkQueue,
    documents: Sequence[Any],
    *,
    known_handlers: Set[str],
    now: datetime,
    actor: Actor,
    trace_parent: str | None = None,
) -> BatchResult:
    """One result per request, in order; the good ones made in one transaction."""
    if len(documents) > MAX_BATCH:
        raise InvalidRequestError(
            f"at most {MAX_BATCH} runs in one batch, not {len(documents)}", field="runs"
        )
    results: list[Enqueued | EnqueueFailure | None] = [None] * len(documents)
    checked: list[_Checked] = []
    for index, document in enumerate(documents):
        try:
            run = check_request(document, known_handlers=known_handlers, now=now, trace_parent=trace_parent)
            checked.append(_Checked(index, run))
        except InvalidRequestError as error:
            results[index] = EnqueueFailure(error="invalid_request", detail=str(error), field=error.field)
    if checked:
        for item, result in zip(
            checked, await _insert(store, queue, checked, now=now, actor=actor), strict=True
        ):
            results[item.index] = result
    return BatchResult(results=[result for result in results if result is not None])


async def _insert(
    store: JobStore, queue: WorkQueue, checked: Sequence[_Checked], *, now: datetime, actor: Actor
) -> list[Enqueued]:
    """The runs of `checked`, made in one transaction with one audit row each (written last, in the
    requests' order, as operations.audit.audited writes one), then queued. The runs without an
    idempotency key or a debounce are inserted together (Runs.insert_api_many); a keyed one claims
    its key first, a debounced one joins or opens its window."""

    async def insert_all(conn: Any) -> list[_Made]:
        made: dict[int, _Made] = {}
        for item in checked:
            run = item.run
            if run.debounce is not None:  # its window's run, joined or new: sent when it starts
                debounced = await store.debounce.request(run, request_key=None, now=now, conn=conn)
                assert debounced.run is not None  # no request key: never a redelivery
                made[item.index] = _Made(debounced.run, joined=debounced.joined)
            elif run.idempotency_key is not None:
                result = await store.runs.insert_api(run, enqueued_by=actor.principal, now=now, conn=conn)
                new = isinstance(result, Execution)
                made[item.index] = _Made(result, send=new, deduplicated=not new)
        keyless = [item for item in checked if item.index not in made]
        runs = await store.runs.insert_api_many(
            [item.run for item in keyless], enqueued_by=actor.principal, now=now, conn=conn
        )
        made |= {item.index: _Made(run, send=True) for item, run in zip(keyless, runs, strict=True)}
        ordered = [made[item.index] for item in checked]
        actions = [_action(actor, item.run, result) for item, result in zip(checked, ordered, strict=True)]
        await store.audit.insert_many(conn, actions, now=now)
        return ordered

    made = await store.connector.run(insert_all, transaction=True)
    new = [item.run for item in made if item.send and isinstance(item.run, Execution)]
    sent = await dispatch_new_runs(store, queue, new, now=now, message="api run enqueued")
    # a run sent is answered as mark_queued recorded it (queued_at: this `now`), without reading it again
    queued = {run.id: replace(run, queued_at=now) for run in new if run.id in sent.sent}
    # the runs that hold the duplicates' keys: one read
    holder_ids = sorted({item.run for item in made if isinstance(item.run, int)})
    holders = {run.id: run for run in await store.runs.by_ids(holder_ids)}
    results: list[Enqueued] = []
    for item in made:
        run = item.run
        if isinstance(run, Execution):
            results.append(Enqueued(run=queued.get(run.id, run), deduplicated=False, debounced=item.joined))
        else:
            results.append(Enqueued(run=None if run is None else holders.get(run), deduplicated=True))
    return results


@dataclass(frozen=True)
class _Made:
    """What one request made: a new run to send, a debounced run (sent when it starts), or the
    id of the run holding its idempotency key."""

    run: Execution | int | None
    send: bool = False
    deduplicated: bool = False
    joined: bool = False


def _action(actor: Actor, run: NewExecution, made: _Made) -> NewOperatorAction:
    """The audit row of one request: the run it made or joined, or (no change: the key's run
    stands) the duplicate, which is still recorded."""
    result = made.run
    if isinstance(result, Execution):
        target_id: str | None = str(result.id)
        after: dict[str, Any] = fields_of(result, ENQUEUED_FIELDS)
        if run.debounce is not None:
            after = {**after, "debounce_key": run.debounce.key, "joined": made.joined}
    else:
        target_id = None if result is None else str(result)
        after = {"deduplicated": True, "idempotency_key": run.idempotency_key}
    return NewOperatorAction(
        principal=actor.principal,
        operation="run.enqueue",
        target_kind="run",
        target_id=target_id,
        request_id=actor.request_id,
        before_state=None,
        after_state=after,
    )
