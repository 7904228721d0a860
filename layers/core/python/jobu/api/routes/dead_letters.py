"""/api/dead-letters: the work queue's dead-letter queue: depth, peek, redrive."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from jobu.api.errors import responses
from jobu.api.parameters import Admin
from jobu.operations import dead_letters
from jobu.operations.dead_letters import MAX_PEEK, DeadLetter, DeadLetterDepth, RedriveRequest, RedriveTask

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # untyped in Powertools
TAGS = ["dead-letter queue"]


@router.get(
    "/",
    tags=TAGS,
    summary="How many messages the dead-letter queue holds",
    responses=responses(200, "Its depth", 502, usual=()),
)
async def dead_letter_depth(admin: Admin) -> DeadLetterDepth:
    return await dead_letters.depth(admin.dead_letters)


@router.get(
    "/messages",
    tags=TAGS,
    summary="Look at messages without removing them",
    responses=responses(200, "Up to `max` messages, with the run each was for", 502),
)
async def peek_dead_letters(
    admin: Admin, max_messages: Annotated[int, Query(alias="max", ge=1, le=MAX_PEEK)] = MAX_PEEK
) -> list[DeadLetter]:
    return await dead_letters.peek(await admin.store(), admin.dead_letters, max_messages=max_messages)


@router.post(
    "/redrive",
    tags=TAGS,
    summary="Move every message back to the work queue (SQS StartMessageMoveTask)",
    status_code=202,
    responses=responses(202, "The move task, started", 502, body=True),
)
async def redrive_dead_letters(
    admin: Admin, request: Annotated[RedriveRequest | None, Body()] = None
) -> RedriveTask:
    return await dead_letters.redrive(admin.dead_letters, request or RedriveRequest())


@router.get(
    "/redrives",
    tags=TAGS,
    summary="The redrive tasks of the last 14 days",
    responses=responses(200, "The tasks, most recent first", 502, usual=()),
)
async def list_redrives(admin: Admin) -> list[RedriveTask]:
    return await dead_letters.redrives(admin.dead_letters)
