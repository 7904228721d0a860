"""The job store opened for one command, through the core's own API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobu.models import Execution
    from jobu.store import JobStore


@asynccontextmanager
async def opened_store(url: str, *, migrate: bool = False) -> AsyncIterator[JobStore]:
    from jobu.store import open_store

    store = await open_store(url)
    try:
        if migrate:
            await store.migrate()
        yield store
    finally:
        await store.close()


async def recent_runs(url: str, *, limit: int) -> list[Execution]:
    async with opened_store(url) as store:
        return await store.runs.list_recent(limit=limit)
