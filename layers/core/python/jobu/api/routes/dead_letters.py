"""/api/dead-letters: a pool's dead-letter queue (`?pool=`, default `default`): depth, peek, redrive."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from jobu.api.errors import responses
from jobu.api.parameters import Admin, Caller, PoolName
from jobu.clock import utcnow
from jobu.operations import dead_letters
from jobu.operations.dead_letters import MAX_PEEK, DeadLetter, DeadLetterDepth, RedriveRequest, RedriveTask
from jobu.pools import DEFAULT_POOL

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # untyped in Powertools
TAGS = ["dead-letter queue"]


@router.get(
    "/",
    tags=TAGS,
    summary="How many messages the dead-letter queue holds",
    responses=responses(200, "Its depth", 404, 502, usual=(400,)),
)
async def dead_letter_depth(admin: Admin, pool: PoolName = DEFAULT_POOL) -> DeadLetterDepth:
    return await dead_letters.depth(admin.dead_letters(pool))


@router.get(
    "/messages",
    tags=TAGS,
    summary="Look at messages without removing them",
    responses=responses(200, "Up to `max` messages, with the run each was for", 404, 502),
)
async def peek_dead_letters(
    admin: Admin,
    max_messages: Annotated[int, Query(alias="max", ge=1, le=MAX_PEEK)] = MAX_PEEK,
    pool: PoolName = DEFAULT_POOL,
) -> list[DeadLetter]:
    return await dead_letters.peek(await admin.store(), admin.dead_letters(pool), max_messages=max_messages)


@router.post(
    "/redrive",
    tags=TAGS,
    summary="Move every message back to the pool's work queue (SQS StartMessageMoveTask)",
    status_code=202,
    responses=responses(202, "The move task, started", 404, 502, body=True),
)
async def redrive_dead_letters(
    admin: Admin,
    actor: Caller,
    request: Annotated[RedriveRequest | None, Body()] = None,
    pool: PoolName = DEFAULT_POOL,
) -> RedriveTask:
    queue = admin.dead_letters(pool)  # a pool that has none is refused before the database is opened
    return await dead_letters.redrive(
        await admin.store(), queue, pool, request or RedriveRequest(), now=utcnow(), actor=actor
    )


@router.get(
    "/redrives",
    tags=TAGS,
    summary="The redrive tasks of the last 14 days",
    responses=responses(200, "The tasks, most recent first", 404, 502, usual=(400,)),
)
async def list_redrives(admin: Admin, pool: PoolName = DEFAULT_POOL) -> list[RedriveTask]:
    return await dead_letters.redrives(admin.dead_letters(pool))
