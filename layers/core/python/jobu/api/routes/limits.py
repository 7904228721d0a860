"""/api/limits: handlers' concurrency and rate limits, and what they hold back (jobu.operations.limits)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from jobu.api.errors import responses
from jobu.api.parameters import Admin, Caller
from jobu.clock import utcnow
from jobu.operations import limits
from jobu.operations.limits import HandlerLimitsStatus

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # untyped in Powertools
TAGS = ["limits"]
HandlerName = Annotated[str, Path(min_length=1, max_length=200, description="a deployed handler's name")]
LIMITS_BODY = (
    '{"concurrency": N|null, "per_key_concurrency": N|null, "rate": {"limit": N, "period_seconds": S, '
    '"burst": B}|null}: a field left out is null (no such limit); burst defaults to 1 (docs/admin-api.md)'
)


@router.get(
    "/",
    tags=TAGS,
    summary="Every handler with limits, or with runs waiting for them: the limits, the runs each holds back",
    responses=responses(200, "By handler name"),
)
async def list_limits(admin: Admin) -> list[HandlerLimitsStatus]:
    return await limits.list_limits(await admin.store(), known_handlers=admin.known_handlers, now=utcnow())


@router.get(
    "/<handler_name>",
    tags=TAGS,
    summary="A handler's limits, its runs running and waiting (per busy key), the rate used",
    responses=responses(200, "The handler's limits", 404),
)
async def get_limits(handler_name: HandlerName, admin: Admin) -> HandlerLimitsStatus:
    return await limits.get_limits(
        await admin.store(), handler_name, known_handlers=admin.known_handlers, now=utcnow()
    )


@router.put(
    "/<handler_name>",
    tags=TAGS,
    summary="Set a handler's limits: they replace its code's from the next run that starts",
    responses=responses(200, "The handler's limits, set", 404, body=True),
)
async def set_limits(
    handler_name: HandlerName,
    spec: Annotated[dict[str, Any], Body(description=LIMITS_BODY)],
    admin: Admin,
    actor: Caller,
) -> HandlerLimitsStatus:
    return await limits.set_limits(
        await admin.store(),
        admin.queue,
        handler_name,
        spec,
        known_handlers=admin.known_handlers,
        now=utcnow(),
        actor=actor,
    )


@router.delete(
    "/<handler_name>",
    tags=TAGS,
    summary="Clear an operator's limits of a handler: its code's apply again",
    responses=responses(200, "The handler's limits, as they are now", 404),
)
async def clear_limits(handler_name: HandlerName, admin: Admin, actor: Caller) -> HandlerLimitsStatus:
    return await limits.clear_limits(
        await admin.store(),
        admin.queue,
        handler_name,
        known_handlers=admin.known_handlers,
        now=utcnow(),
        actor=actor,
    )
