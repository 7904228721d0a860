"""/api/handlers: the handlers a cron job may name, with their params schemas."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from jobu.api.errors import responses
from jobu.api.parameters import Admin
from jobu.operations.handlers import HandlerInfo, list_handlers

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # untyped in Powertools
TAGS = ["handlers"]


@router.get(
    "/",
    tags=TAGS,
    summary="The handlers the worker runs",
    responses=responses(200, "Every handler, by name", usual=()),
)
async def handlers(admin: Admin) -> list[HandlerInfo]:
    return list_handlers(admin.known_handlers)
