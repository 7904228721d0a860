"""/api/pools: the worker pools, each with its handlers and the depth of its two queues."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from jobu.api.errors import responses
from jobu.api.parameters import Admin
from jobu.operations.pools import PoolInfo, list_pools

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # untyped in Powertools
TAGS = ["pools"]


@router.get(
    "/",
    tags=TAGS,
    summary="The worker pools and their queues' depth",
    responses=responses(200, "Every pool, the default first", 502, usual=()),
)
async def pools(admin: Admin) -> list[PoolInfo]:
    return await list_pools(admin.pools, admin.work_queue, admin.dead_letters)
