"""/api/audit: the audit trail, newest first: who did what to which target, and what it changed."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import ValidationError

from jobu.api.errors import responses
from jobu.api.parameters import Admin, FromDate, PageNumber, PageSize, ToDate
from jobu.listings import OperatorAction
from jobu.operations import audit
from jobu.operations.audit import MAX_PRINCIPAL, AuditFilter
from jobu.operations.paging import DEFAULT_PAGE_SIZE, Page, PageRequest

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # untyped in Powertools
TAGS = ["audit"]


@router.get(
    "/",
    tags=TAGS,
    summary="List operator actions, newest first",
    responses=responses(200, "A page of operator actions"),
)
async def list_audit(
    admin: Admin,
    *,
    page: PageNumber = 1,
    size: PageSize = DEFAULT_PAGE_SIZE,
    principal: Annotated[
        str | None, Query(min_length=1, max_length=MAX_PRINCIPAL, description="exactly, e.g. an IAM ARN")
    ] = None,
    operation: Annotated[str | None, Query(min_length=1, max_length=64, description="e.g. run.retry")] = None,
    target_kind: Annotated[
        str | None, Query(min_length=1, max_length=32, description="cron_job, run, runs, ...")
    ] = None,
    target_id: Annotated[str | None, Query(min_length=1, max_length=255)] = None,
    from_date: FromDate = None,
    to_date: ToDate = None,
) -> Page[OperatorAction]:
    try:
        where = AuditFilter(
            principal=principal,
            operation=operation,
            target_kind=target_kind,
            target_id=target_id,
            from_date=from_date,
            to_date=to_date,
        )
    except ValidationError as error:  # answered as a query parameter that does not parse
        raise RequestValidationError([{**e, "loc": ("query", *e["loc"])} for e in error.errors()]) from None
    return await audit.list_page(await admin.store(), PageRequest(page=page, size=size), where)
