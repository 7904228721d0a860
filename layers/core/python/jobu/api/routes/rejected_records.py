"""/api/rejected: Kafka records the queue dispatcher refused: list, show, replay, discard."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from jobu.api.errors import responses
from jobu.api.parameters import Admin, Caller, PageNumber, PageSize, RecordId
from jobu.clock import utcnow
from jobu.listings import RejectedEvent, RejectedEventSummary
from jobu.operations import rejected_records
from jobu.operations.paging import DEFAULT_PAGE_SIZE, Page, PageRequest
from jobu.operations.rejected_records import ReplayResult

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # untyped in Powertools
TAGS = ["rejected records"]


@router.get(
    "/",
    tags=TAGS,
    summary="List rejected records, newest first",
    responses=responses(200, "A page of rejected records (the first 200 characters of each value)"),
)
async def list_rejected(
    admin: Admin,
    page: PageNumber = 1,
    size: PageSize = DEFAULT_PAGE_SIZE,
) -> Page[RejectedEventSummary]:
    return await rejected_records.list_page(await admin.store(), PageRequest(page=page, size=size))


@router.get(
    "/<record_id>",
    tags=TAGS,
    summary="Read a rejected record, with its whole value",
    responses=responses(200, "The record", 404),
)
async def get_rejected(record_id: RecordId, admin: Admin) -> RejectedEvent:
    return await rejected_records.get(await admin.store(), record_id)


@router.post(
    "/<record_id>/replay",
    tags=TAGS,
    summary="Dispatch the record again (at most one run, however often)",
    responses=responses(200, "The run it is now, or why it was refused again", 404),
)
async def replay_rejected(record_id: RecordId, admin: Admin, actor: Caller) -> ReplayResult:
    return await rejected_records.replay(
        await admin.store(),
        admin.queue,
        record_id,
        known_handlers=admin.known_handlers,
        now=utcnow(),
        actor=actor,
    )


@router.delete(
    "/<record_id>",
    tags=TAGS,
    summary="Discard a rejected record",
    status_code=204,
    responses=responses(204, "Discarded", 404),
)
async def discard_rejected(record_id: RecordId, admin: Admin, actor: Caller) -> Response[None]:
    await rejected_records.discard(await admin.store(), record_id, now=utcnow(), actor=actor)
    return Response(204)
