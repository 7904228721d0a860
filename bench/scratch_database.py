"""A PostgreSQL database of a benchmark run's own, created empty and dropped afterwards whatever
happens, so no run leaves one behind on the shared server."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import asyncpg

ADMIN_URL = os.environ.get("JOBU_BENCH_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


async def admin_execute(sql: str, admin_url: str = ADMIN_URL) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _named(tag: str, admin_url: str) -> tuple[str, str]:
    name = f"jobu_bench_{tag}_{uuid.uuid4().hex[:10]}"
    return name, admin_url.rsplit("/", 1)[0] + f"/{name}"


@asynccontextmanager
async def fresh_postgres(tag: str, admin_url: str = ADMIN_URL) -> AsyncIterator[str]:
    """The URL of a new, empty database (for benchmarks that run in one event loop)."""
    name, url = _named(tag, admin_url)
    await admin_execute(f'CREATE DATABASE "{name}"', admin_url)
    try:
        yield url
    finally:
        await admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', admin_url)


@contextmanager
def fresh_postgres_sync(tag: str, admin_url: str = ADMIN_URL) -> Iterator[str]:
    """The same, for benchmarks that drive an entry point's own event loop in between."""
    name, url = _named(tag, admin_url)
    asyncio.run(admin_execute(f'CREATE DATABASE "{name}"', admin_url))
    try:
        yield url
    finally:
        asyncio.run(admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', admin_url))
