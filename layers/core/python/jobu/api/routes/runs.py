"""/api/jobs: the run history (the original jobu's paths), one run's detail, retry and bulk retry,
cancel and bulk cancel;
/api/runs: enqueue runs of a handler (one, or a batch)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, Field

from jobu.api.errors import responses
from jobu.api.parameters import (
    Admin,
    BatchIdFilter,
    Caller,
    CronIdFilter,
    FromDate,
    HandlerFilter,
    PageNumber,
    PageSize,
    ParamFilter,
    RunId,
    TagFilter,
    ToDate,
    TraceHeader,
    history_filter,
)
from jobu.clock import utcnow
from jobu.listings import ExecutionSummary
from jobu.models import ExecutionStatus
from jobu.operations import enqueue, runs
from jobu.operations.enqueue import MAX_BATCH, BatchResult, Enqueued
from jobu.operations.paging import DEFAULT_PAGE_SIZE, Page, PageRequest
from jobu.operations.runs import (
    BulkCancelRequest,
    BulkCancelResult,
    BulkRetryRequest,
    BulkRetryResult,
    CancelResult,
    RetryResult,
    RunDetail,
)
from jobu.work_queue import DryRunQueue

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # untyped in Powertools
enqueue_router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # untyped in Powertools
TAGS = ["runs"]


class BatchRequest(BaseModel):
    runs: list[Any] = Field(
        max_length=MAX_BATCH,
        description="run requests, each as POST /api/runs takes it; each answered on its own",
    )


@router.get(
    "/",
    tags=TAGS,
    summary="List runs, newest first",
    responses=responses(200, "A page of runs (without params or result; error cut to 500 characters)"),
)
async def list_runs(
    admin: Admin,
    *,
    page: PageNumber = 1,
    size: PageSize = DEFAULT_PAGE_SIZE,
    cron_id: CronIdFilter = None,
    status: Annotated[ExecutionStatus | None, Query()] = None,
    handler_name: HandlerFilter = None,
    from_date: FromDate = None,
    to_date: ToDate = None,
    tag: TagFilter = None,
    params: ParamFilter,
    batch_id: BatchIdFilter = None,
) -> Page[ExecutionSummary]:
    where = history_filter(cron_id, status, handler_name, from_date, to_date, tag, params, batch_id=batch_id)
    return await runs.list_page(await admin.store(), PageRequest(page=page, size=size), where)


@router.get(
    "/<run_id>", tags=TAGS, summary="Read a run", responses=responses(200, "The run, with its chain", 404)
)
async def get_run(run_id: RunId, admin: Admin) -> RunDetail:
    return await runs.get(await admin.store(), run_id)


@router.post(
    "/<run_id>/retry",
    tags=TAGS,
    summary="Retry a FAILED or TIMEOUT run (a new attempt, queued)",
    responses=responses(200, "The run, PENDING again", 404),
)
async def retry_run(run_id: RunId, admin: Admin, actor: Caller) -> RetryResult:
    return await runs.retry(await admin.store(), admin.queue, run_id, now=utcnow(), actor=actor)


@router.post(
    "/<run_id>/cancel",
    tags=TAGS,
    summary="Cancel a run that has not ended (a running one: within seconds)",
    responses=responses(200, "Cancelled, or cancellation requested from its worker", 404),
)
async def cancel_run(run_id: RunId, admin: Admin, actor: Caller) -> CancelResult:
    return await runs.cancel(await admin.store(), admin.queue, run_id, now=utcnow(), actor=actor)


@router.post(
    "/bulk-retry",
    tags=TAGS,
    summary="Retry the FAILED and TIMEOUT runs a filter matches (a dry run by default)",
    responses=responses(200, "What matched, and what was retried", body=True),
)
async def bulk_retry_runs(request: BulkRetryRequest, admin: Admin, actor: Caller) -> BulkRetryResult:
    queue = DryRunQueue() if request.dry_run else admin.queue  # a dry run needs no queue
    return await runs.bulk_retry(await admin.store(), queue, request, now=utcnow(), actor=actor)


@router.post(
    "/bulk-cancel",
    tags=TAGS,
    summary="Cancel the WAITING, PENDING and RUNNING runs a filter matches (a dry run by default)",
    responses=responses(200, "What matched, and what was cancelled or asked to stop", body=True),
)
async def bulk_cancel_runs(request: BulkCancelRequest, admin: Admin, actor: Caller) -> BulkCancelResult:
    queue = DryRunQueue() if request.dry_run else admin.queue  # a dry run needs no queue
    return await runs.bulk_cancel(await admin.store(), queue, request, now=utcnow(), actor=actor)


@router.delete(
    "/<run_id>",
    tags=TAGS,
    summary="Delete a run that is not waiting, pending or running",
    status_code=204,
    responses=responses(204, "Deleted", 404),
)
async def delete_run(run_id: RunId, admin: Admin, actor: Caller) -> Response[None]:
    await runs.delete(await admin.store(), run_id, now=utcnow(), actor=actor)
    return Response(204)


RUN_REQUEST = (
    "handler_name, params, and the flow control fields: idempotency_key, idempotency_ttl_seconds, priority, "
    "tags, run_at or delay_seconds, expires_at or ttl_seconds, concurrency_key, debounce "
    '{"key", "seconds", "max_wait_seconds"} (docs/admin-api.md)'
)


@enqueue_router.post(
    "/",
    tags=TAGS,
    summary="Enqueue a run of a handler (param_source api)",
    status_code=201,
    responses=responses(
        201,
        "The run, created and queued (a debounced one: sent when it starts); 200: deduplicated by its "
        "idempotency key, or joined its debounce key's waiting run",
        body=True,
    ),
)
async def enqueue_run(
    request: Annotated[dict[str, Any], Body(description=RUN_REQUEST)],
    admin: Admin,
    actor: Caller,
    trace_parent: TraceHeader,
) -> Response[Enqueued]:
    result = await enqueue.enqueue_one(
        await admin.store(),
        admin.queue,
        request,
        known_handlers=admin.known_handlers,
        now=utcnow(),
        actor=actor,
        trace_parent=trace_parent,
    )
    made = not (result.deduplicated or result.debounced)
    return Response(201 if made else 200, body=result, content_type="application/json")


@enqueue_router.post(
    "/batch",
    tags=TAGS,
    summary=f"Enqueue up to {MAX_BATCH} runs; one result per request, in order",
    responses=responses(
        200, "One result per request: the run (or its duplicate), or why it was refused", body=True
    ),
)
async def enqueue_runs(
    request: BatchRequest, admin: Admin, actor: Caller, trace_parent: TraceHeader
) -> BatchResult:
    return await enqueue.enqueue_batch(
        await admin.store(),
        admin.queue,
        request.runs,
        known_handlers=admin.known_handlers,
        now=utcnow(),
        actor=actor,
        trace_parent=trace_parent,
    )
