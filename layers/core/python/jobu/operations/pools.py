"""The worker pools, as operators see them (jobu.pools): each pool's handlers and worker timeout,
and how deep its work queue and its dead-letter queue are: the queue health of every pool."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from pydantic import BaseModel, Field

from jobu.dead_letter_queue import SqsQueue
from jobu.handler_manifest import pool_handler_names
from jobu.operations.dead_letters import QueueDepth, depth
from jobu.pools import Pools


class PoolInfo(BaseModel):
    name: str
    handlers: list[str] = Field(description="the handlers its worker runs (their runs go to its queue)")
    worker_timeout_seconds: int | None = Field(description="its worker's Timeout: the longest a run may take")
    work_queue: QueueDepth
    dead_letters: QueueDepth


async def list_pools(
    pools: Pools, work_queue: Callable[[str], SqsQueue], dead_letters: Callable[[str], SqsQueue]
) -> list[PoolInfo]:
    """Every pool, the default first; the queues of all are read at once."""

    async def info(name: str) -> PoolInfo:
        waiting, dead = await asyncio.gather(depth(work_queue(name)), depth(dead_letters(name)))
        return PoolInfo(
            name=name,
            handlers=sorted(pool_handler_names(name)),
            worker_timeout_seconds=pools[name].worker_timeout_seconds,
            work_queue=waiting,
            dead_letters=dead,
        )

    return list(await asyncio.gather(*(info(name) for name in pools)))
