"""/health and /ready, as the original jobu's probes."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from jobu.api.errors import responses
from jobu.api.parameters import Admin
from jobu.operations import health
from jobu.operations.health import Health, Readiness

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # untyped in Powertools
TAGS = ["health"]


@router.get(
    "/health",
    tags=TAGS,
    summary="Liveness: the function answers",
    responses=responses(200, "Alive", usual=()),
)
async def liveness() -> Health:
    return Health()


@router.get(
    "/ready",
    tags=TAGS,
    summary="Readiness: the database answers",
    responses=responses(200, "Ready", usual=(503,)),
)
async def readiness(admin: Admin) -> Readiness:
    return await health.ready(await admin.store())
