"""/api/batches: batches of runs with their callbacks (jobu.operations.batches): create, list, read,
cancel. A batch's runs are listed with GET /api/jobs?batch_id=."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from jobu.api.errors import responses
from jobu.api.parameters import Admin, BatchId, Caller, PageNumber, PageSize, TraceHeader
from jobu.clock import utcnow
from jobu.operations import batches
from jobu.operations.batches import MAX_BATCH_RUNS, BatchCancelled, BatchCreated, BatchView
from jobu.operations.paging import DEFAULT_PAGE_SIZE, Page, PageRequest

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # untyped in Powertools
TAGS = ["batches"]

BATCH_REQUEST = (
    f'{{"runs": [...] (1 to {MAX_BATCH_RUNS}, each a run request as POST /api/runs takes it, without '
    'idempotency_key or debounce), "on_success": {"handler_name", "params"} (made when every run succeeded), '
    '"on_complete": {"handler_name", "params"} (made when every run ended), "idempotency_key" (1-200 '
    'characters) and "idempotency_ttl_seconds" (default a day): a retried request gets the key\'s batch}; '
    "one bad item refuses the batch, its field named runs[i].<field> (docs/admin-api.md)"
)


@router.post(
    "/",
    tags=TAGS,
    summary=f"Create a batch of up to {MAX_BATCH_RUNS} runs with completion callbacks",
    status_code=201,
    responses=responses(
        201,
        "The batch and its runs' ids, created and queued; 200: deduplicated by its idempotency key, "
        "nothing made",
        body=True,
    ),
)
async def create_batch(
    request: Annotated[dict[str, Any], Body(description=BATCH_REQUEST)],
    admin: Admin,
    actor: Caller,
    trace_parent: TraceHeader,
) -> Response[BatchCreated]:
    created = await batches.create(
        await admin.store(),
        admin.queue,
        request,
        known_handlers=admin.known_handlers,
        now=utcnow(),
        actor=actor,
        trace_parent=trace_parent,
    )
    return Response(200 if created.deduplicated else 201, body=created, content_type="application/json")


@router.get(
    "/",
    tags=TAGS,
    summary="List batches, newest first",
    responses=responses(200, "A page of batches (their counts of ended runs)"),
)
async def list_batches(
    admin: Admin,
    *,
    page: PageNumber = 1,
    size: PageSize = DEFAULT_PAGE_SIZE,
    status: Annotated[Literal["RUNNING", "SUCCESS", "FAILED", "CANCELLED"] | None, Query()] = None,
) -> Page[BatchView]:
    return await batches.list_page(await admin.store(), PageRequest(page=page, size=size), status=status)


@router.get(
    "/<batch_id>",
    tags=TAGS,
    summary="Read a batch: its counts, its runs by status, its callback run",
    responses=responses(200, "The batch", 404),
)
async def get_batch(batch_id: BatchId, admin: Admin) -> BatchView:
    return await batches.get(await admin.store(), batch_id)


@router.post(
    "/<batch_id>/cancel",
    tags=TAGS,
    summary="Cancel a batch's WAITING and PENDING runs (its RUNNING ones finish)",
    responses=responses(200, "The batch, and how many runs were cancelled", 404),
)
async def cancel_batch(batch_id: BatchId, admin: Admin, actor: Caller) -> BatchCancelled:
    return await batches.cancel(await admin.store(), admin.queue, batch_id, now=utcnow(), actor=actor)
