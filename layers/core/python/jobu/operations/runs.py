"""Runs (job_executions): the history with filters, one run's detail, retry, bulk retry, cancel,
bulk cancel, delete.

Retry gives a FAILED or TIMEOUT run a new attempt of the same run: the row goes back to PENDING with
retry_count + 1 (the attempt its message carries), keeps its last error until the attempt ends, and
is queued at once. That one attempt is added to max_retry's budget: if it fails, the run ends again
(no automatic retries follow). Any other status is an InvalidStateError.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from jobu.errors import InvalidStateError, NotFoundError
from jobu.listings import ExecutionSummary
from jobu.models import Execution, ExecutionStatus
from jobu.operations import batches
from jobu.operations.audit import Actor, Change, audited, differences, fields_of
from jobu.operations.paging import Page, PageRequest, as_utc, bounded
from jobu.param_match import (
    MAX_PARAM_KEY_LENGTH,
    MAX_PARAM_MATCHES,
    MAX_PARAM_VALUE_LENGTH,
    PARAM_KEY_PATTERN,
)
from jobu.provenance import ParamOrigin, origins
from jobu.retries import CANCELLED_REASON
from jobu.run_options import MAX_TAG_LENGTH, MAX_TAGS, TAG_PATTERN
from jobu.specs import StorableText
from jobu.store import JobStore
from jobu.work_queue import WorkQueue, enqueue, ready_runs

RETRYABLE = (ExecutionStatus.FAILED, ExecutionStatus.TIMEOUT)
# A run that may still start or is running: deleting it would pull it from under its worker.
ACTIVE = (ExecutionStatus.WAITING, ExecutionStatus.PENDING, ExecutionStatus.RUNNING)
# a run's fields as the audit trail records what an action changed
RUN_STATE = ("status", "retry_count", "finished_at", "cancel_requested_at")
DELETED_FIELDS = ("job_id", "handler_name", "status", "param_source", "created_at")
MAX_CHILDREN = 100
MAX_BULK_RETRY = 1000
MAX_BULK_CANCEL = 1000


class RunFilter(BaseModel):
    """Which runs: every field given must match; dates bound created_at, both ends included."""

    model_config = ConfigDict(extra="forbid")

    cron_id: int | None = Field(default=None, ge=1, le=2**63 - 1, description="the run's cron job id")
    status: ExecutionStatus | None = None
    handler_name: StorableText | None = Field(default=None, min_length=1, max_length=200)
    from_date: datetime | None = Field(default=None, description="created at or after (UTC when no offset)")
    to_date: datetime | None = Field(default=None, description="created at or before (UTC when no offset)")
    tags: list[Annotated[str, Field(min_length=1, max_length=MAX_TAG_LENGTH, pattern=TAG_PATTERN)]] | None = (
        Field(default=None, max_length=MAX_TAGS, description="runs carrying every one of these tags")
    )
    params: (
        dict[
            Annotated[str, Field(max_length=MAX_PARAM_KEY_LENGTH, pattern=PARAM_KEY_PATTERN)],
            Annotated[StorableText, Field(max_length=MAX_PARAM_VALUE_LENGTH)],
        ]
        | None
    ) = Field(
        default=None,
        max_length=MAX_PARAM_MATCHES,
        description="runs whose params have every one of these top-level values: a string equal to the "
        "value, or, for a value that reads as a JSON number, true, false or null, that number (compared "
        "numerically), boolean or null too (docs/admin-api.md, Finding runs)",
    )
    batch_id: int | None = Field(default=None, ge=1, le=2**63 - 1, description="the runs of this batch")

    @field_validator("from_date", "to_date")
    @classmethod
    def _in_range(cls, moment: datetime | None) -> datetime | None:
        return bounded(moment)

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        if self.from_date and self.to_date and as_utc(self.from_date) > as_utc(self.to_date):
            raise ValueError("from_date is after to_date")
        return self

    def store_filter(self, statuses: tuple[ExecutionStatus, ...] | None = None) -> dict[str, Any]:
        if self.status is not None:
            statuses = tuple(s for s in statuses or (self.status,) if s is self.status)
        return {
            "tags": self.tags or None,
            "params": self.params or None,
            "job_id": self.cron_id,
            "statuses": statuses,
            "handler_name": self.handler_name,
            "from_date": None if self.from_date is None else as_utc(self.from_date),
            "to_date": None if self.to_date is None else as_utc(self.to_date),
            "batch_id": self.batch_id,
        }


@dataclass(kw_only=True)
class RunDetail(Execution):
    """A run with what an operator needs around it."""

    cron_name: Annotated[str | None, Field(description="the name of the run's cron job, when it has one")]
    params_provenance: Annotated[  # a run's own map, or every key's source
        dict[str, ParamOrigin],
        Field(
            description="where each key of params came from: the cron job ('cron'), the event, an override "
            "('manual') or a backfill (the stored map, or param_source for every key when nothing was merged)"
        ),
    ]
    parent: Annotated[ExecutionSummary | None, Field(description="the run whose on_success created this one")]
    children: Annotated[
        list[ExecutionSummary], Field(description="runs this one created on success (at most 100)")
    ]


class RetryResult(BaseModel):
    run: RunDetail
    queued: bool = Field(description="false: the message failed and the sweeper re-sends it within minutes")


class BulkRetryRequest(RunFilter):
    """Retry the FAILED and TIMEOUT runs that match (status narrows it to one of the two)."""

    dry_run: bool = Field(default=True, description="true (the default): only count and list; retry nothing")
    limit: int = Field(default=100, ge=1, le=MAX_BULK_RETRY, description="the most runs one call retries")


class BulkRetryResult(BaseModel):
    dry_run: bool
    matched: int = Field(description="FAILED or TIMEOUT runs matching the filter")
    ids: list[int] = Field(
        description="dry run: the runs a retry would take (newest first); else those retried"
    )
    queued: list[int] = Field(default_factory=list, description="retried runs whose message was sent")


async def list_page(store: JobStore, request: PageRequest, run_filter: RunFilter) -> Page[ExecutionSummary]:
    where = run_filter.store_filter()
    total = await store.runs.count(**where)
    items = await store.runs.page(limit=request.size, offset=request.offset, **where)
    return Page[ExecutionSummary].of(items, total=total, request=request)


async def get(store: JobStore, execution_id: int) -> RunDetail:
    found = await store.runs.detail(execution_id)
    if found is None:
        raise NotFoundError(f"no run with id {execution_id}")
    run, cron_name = found
    parent = None
    if run.parent_execution_id is not None:
        parent = await store.runs.summary(run.parent_execution_id)
    fields = asdict(run) | {"params_provenance": origins(run.params, run.params_provenance, run.param_source)}
    return RunDetail(
        **fields,
        cron_name=cron_name,
        parent=parent,
        children=await store.runs.children(execution_id, limit=MAX_CHILDREN),
    )


async def _queue(store: JobStore, queue: WorkQueue, runs: list[Execution], *, now: datetime) -> list[int]:
    # a run its handler's limits hold is WAITING: they send it when they hand it over
    sent = await enqueue(store, queue, ready_runs(runs, now), now=now)
    return sorted(sent.sent)


async def _run(store: JobStore, execution_id: int, conn: Any) -> Execution:
    run = await store.runs.get(execution_id, conn=conn)
    if run is None:
        raise NotFoundError(f"no run with id {execution_id}")
    return run


async def retry(
    store: JobStore, queue: WorkQueue, execution_id: int, *, now: datetime, actor: Actor
) -> RetryResult:

    async def again(change: Change) -> list[Execution]:
        run = await _run(store, execution_id, change.conn)
        if run.status not in RETRYABLE:
            raise InvalidStateError(
                f"run {execution_id} is {run.status.value}: only FAILED or TIMEOUT runs are retried"
            )
        retried = await store.runs.retry_finished([execution_id], now=now, conn=change.conn)
        if not retried:
            raise InvalidStateError(f"run {execution_id} changed state while being retried; read it again")
        change.record(*differences(fields_of(run, RUN_STATE), fields_of(retried[0], RUN_STATE)))
        return retried

    retried = await audited(store, actor, "run.retry", "run", execution_id, now=now, change=again)
    queued = await _queue(store, queue, retried, now=now)
    return RetryResult(run=await get(store, execution_id), queued=execution_id in queued)


async def bulk_retry(
    store: JobStore, queue: WorkQueue, request: BulkRetryRequest, *, now: datetime, actor: Actor
) -> BulkRetryResult:
    """The dry run (the default) says how many runs match and which `limit` of them a retry would
    take; without it those runs are retried and queued, and the ids retried are returned."""
    where = request.store_filter(RETRYABLE)
    matched = await store.runs.count(**where) if where["statuses"] else 0
    page = await store.runs.page(limit=request.limit, offset=0, **where) if matched else []
    ids = [run.id for run in page]
    if request.dry_run:
        return BulkRetryResult(dry_run=True, matched=matched, ids=ids)

    async def again(change: Change) -> list[Execution]:
        retried = await store.runs.retry_finished(ids, now=now, conn=change.conn)
        asked = request.model_dump(exclude={"dry_run"}, exclude_none=True)
        change.record(after={"filter": asked, "matched": matched, "retried": sorted(r.id for r in retried)})
        return retried

    retried = await audited(store, actor, "run.bulk_retry", "runs", now=now, change=again)
    queued = await _queue(store, queue, retried, now=now)
    return BulkRetryResult(dry_run=False, matched=matched, ids=sorted(r.id for r in retried), queued=queued)


class BulkCancelRequest(RunFilter):
    """Cancel the WAITING, PENDING and RUNNING runs that match (status narrows it to one of them)."""

    dry_run: bool = Field(default=True, description="true (the default): only count and list; cancel nothing")
    limit: int = Field(default=100, ge=1, le=MAX_BULK_CANCEL, description="the most runs one call cancels")


class BulkCancelResult(BaseModel):
    dry_run: bool
    matched: int = Field(description="WAITING, PENDING or RUNNING runs matching the filter")
    ids: list[int] = Field(
        description="dry run: the runs a cancel would take (newest first); else those this call cancelled "
        "or asked to stop"
    )
    cancelled: list[int] = Field(
        default_factory=list, description="runs that were WAITING or PENDING: CANCELLED now, they never start"
    )
    requested: list[int] = Field(
        default_factory=list,
        description="runs that were RUNNING: their workers cancel the handlers within seconds",
    )


async def bulk_cancel(
    store: JobStore, queue: WorkQueue, request: BulkCancelRequest, *, now: datetime, actor: Actor
) -> BulkCancelResult:
    """The dry run (the default) says how many runs match and which `limit` of them a cancel would
    take; without it each of those runs is cancelled as `cancel` cancels one (the same store calls),
    all in one transaction with one audit row. A run that ended in between is left alone."""
    where = request.store_filter(ACTIVE)
    matched = await store.runs.count(**where) if where["statuses"] else 0
    page = await store.runs.page(limit=request.limit, offset=0, **where) if matched else []
    if request.dry_run:
        return BulkCancelResult(dry_run=True, matched=matched, ids=[run.id for run in page])
    ids = sorted(run.id for run in page)  # one lock order for every bulk cancel
    aside = {run_id for run_id in ids if await store.runs.request_cancel_aside(run_id, now=now)}

    released: dict[int, Execution] = {}  # the runs the freed slots of their handlers' limits let through

    async def stop(change: Change) -> dict[int, str]:
        outcomes: dict[int, str] = {}
        released.clear()  # a transaction run again starts afresh
        for run_id in ids:
            freed: list[Execution] = []
            outcome = (
                "requested"
                if run_id in aside
                else await store.runs.cancel(
                    run_id, reason=CANCELLED_REASON, now=now, conn=change.conn, released=freed
                )
            )
            released.update((run.id, run) for run in freed)
            if outcome is not None:
                outcomes[run_id] = outcome
        asked = request.model_dump(mode="json", exclude={"dry_run"}, exclude_none=True)
        by = {
            kind: [i for i, outcome in outcomes.items() if outcome == kind]
            for kind in ("cancelled", "requested")
        }
        change.record(after={"filter": asked, "matched": matched, **by})
        return outcomes

    outcomes = await audited(store, actor, "run.bulk_cancel", "runs", now=now, change=stop)
    await enqueue(store, queue, ready_runs(released.values(), now), now=now)
    cancelled = await store.runs.by_ids(
        [i for i, outcome in sorted(outcomes.items()) if outcome == "cancelled"]
    )
    # a queue_one job's waiting run may start now that its active one will not
    for job_id in sorted({run.job_id for run in cancelled if run.job_id is not None}):
        promoted = await store.runs.promote_waiting(job_id, now=now)
        await enqueue(store, queue, ready_runs([promoted], now), now=now)
    # a cancelled run's end may have been its batch's last: the callbacks it made are sent now
    for batch_id in sorted({run.batch_id for run in cancelled if run.batch_id is not None}):
        await batches.send_callbacks(store, queue, batch_id, now=now)
    return BulkCancelResult(
        dry_run=False,
        matched=matched,
        ids=sorted(outcomes),
        cancelled=[i for i, outcome in sorted(outcomes.items()) if outcome == "cancelled"],
        requested=[i for i, outcome in sorted(outcomes.items()) if outcome == "requested"],
    )


async def delete(store: JobStore, execution_id: int, *, now: datetime, actor: Actor) -> None:

    async def remove(change: Change) -> None:
        run = await _run(store, execution_id, change.conn)
        if run.status in ACTIVE:
            raise InvalidStateError(
                f"run {execution_id} is {run.status.value}: a run that may still start or is running is not "
                "deleted"
            )
        if not await store.runs.delete_finished(execution_id, conn=change.conn):
            raise InvalidStateError(f"run {execution_id} changed state while being deleted; read it again")
        change.record(before=fields_of(run, DELETED_FIELDS))

    await audited(store, actor, "run.delete", "run", execution_id, now=now, change=remove)


class CancelResult(BaseModel):
    run_id: int
    outcome: str = Field(
        description="'cancelled': it was WAITING or PENDING and will never start; 'requested': it is "
        "RUNNING and its worker cancels the handler within seconds"
    )


async def cancel(
    store: JobStore, queue: WorkQueue, run_id: int, *, now: datetime, actor: Actor
) -> CancelResult:
    """Cancel a run that has not ended. A WAITING or PENDING run becomes CANCELLED now (its message,
    if any, finds it so and does nothing); a RUNNING one is cancelled by its worker (the handler sees
    asyncio.CancelledError) or, if that worker died, by the sweeper.

    On SQLite a RUNNING run's request is recorded first, apart (Runs.request_cancel_aside): a
    transactional handler holds the database's lock while it runs, and is cancelled by it."""
    aside = await store.runs.request_cancel_aside(run_id, now=now)

    async def stop(change: Change) -> tuple[Execution, str]:
        run = await _run(store, run_id, change.conn)
        outcome = (
            "requested"
            if aside
            else await store.runs.cancel(
                run_id, reason=CANCELLED_REASON, now=now, conn=change.conn, released=released
            )
        )
        if outcome is None:
            raise InvalidStateError(
                f"run {run_id} is {run.status.value}: only a run that has not ended can be cancelled"
            )
        after = await _run(store, run_id, change.conn)
        change.record(*differences(fields_of(run, RUN_STATE), fields_of(after, RUN_STATE)))
        return run, outcome

    released: list[Execution] = []  # the runs its freed slot of its handler's limits let through
    run, outcome = await audited(store, actor, "run.cancel", "run", run_id, now=now, change=stop)
    await enqueue(store, queue, ready_runs(released, now), now=now)
    if outcome == "cancelled" and run.job_id is not None:
        # a queue_one job's waiting run may start now that this one will not
        promoted = await store.runs.promote_waiting(run.job_id, now=now)
        await enqueue(store, queue, ready_runs([promoted], now), now=now)
    if outcome == "cancelled" and run.batch_id is not None:
        # its end may have been its batch's last: the callbacks it made are sent now
        await batches.send_callbacks(store, queue, run.batch_id, now=now)
    return CancelResult(run_id=run_id, outcome=outcome)
