"""/api/cron-preview: the next fire times of a cron expression, or why jobu refuses it."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from jobu.api.errors import responses
from jobu.clock import utcnow
from jobu.models import MAX_CRON_EXPRESSION_LENGTH
from jobu.operations import schedules
from jobu.operations.schedules import DEFAULT_PREVIEW, MAX_PREVIEW, SchedulePreview

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # untyped in Powertools
TAGS = ["cron jobs"]


@router.get(
    "/",
    tags=TAGS,
    summary="Preview a cron expression: its next fire times",
    responses=responses(200, "The next fire times; 400 invalid_cron_job says why an expression is refused"),
)
async def preview_cron_expression(
    cron_expression: Annotated[str, Query(min_length=1, max_length=MAX_CRON_EXPRESSION_LENGTH)],
    timezone: Annotated[str, Query(min_length=1, max_length=64, description="an IANA zone")] = "UTC",
    count: Annotated[int, Query(ge=1, le=MAX_PREVIEW)] = DEFAULT_PREVIEW,
) -> SchedulePreview:
    return schedules.preview(cron_expression, timezone=timezone, count=count, now=utcnow())
