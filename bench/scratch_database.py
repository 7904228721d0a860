"""A database of a benchmark run's own, created empty and dropped afterwards whatever happens, so no
run leaves one behind on the shared servers: PostgreSQL, MariaDB, or an SQLite file in a temporary
folder."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import asyncmy
import asyncpg

ADMIN_URL = os.environ.get("JOBU_BENCH_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MYSQL_HOST, MYSQL_PORT, MYSQL_USER = "127.0.0.1", 3306, "root"


async def admin_execute(sql: str, admin_url: str = ADMIN_URL) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def mysql_execute(sql: str) -> None:
    conn = await asyncmy.connect(host=MYSQL_HOST, port=MYSQL_PORT, user=MYSQL_USER)
    try:
        async with conn.cursor() as cursor:
            await cursor.execute(sql)
    finally:
        conn.close()


def _name(tag: str) -> str:
    return f"jobu_bench_{tag}_{uuid.uuid4().hex[:10]}"


def _postgres_url(name: str, admin_url: str) -> str:
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


@asynccontextmanager
async def fresh_postgres(tag: str, admin_url: str = ADMIN_URL) -> AsyncIterator[str]:
    """The URL of a new, empty database (for benchmarks that run in one event loop)."""
    name = _name(tag)
    await admin_execute(f'CREATE DATABASE "{name}"', admin_url)
    try:
        yield _postgres_url(name, admin_url)
    finally:
        await admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', admin_url)


@contextmanager
def fresh_postgres_sync(tag: str, admin_url: str = ADMIN_URL) -> Iterator[str]:
    """The same, for benchmarks that drive an entry point's own event loop in between."""
    name = _name(tag)
    asyncio.run(admin_execute(f'CREATE DATABASE "{name}"', admin_url))
    try:
        yield _postgres_url(name, admin_url)
    finally:
        asyncio.run(admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', admin_url))


@asynccontextmanager
async def fresh_database(backend: str, tag: str) -> AsyncIterator[str]:
    """A new, empty database on `backend` (postgres, mysql or sqlite): its URL."""
    if backend == "postgres":
        async with fresh_postgres(tag) as url:
            yield url
        return
    name = _name(tag)
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/{name}.db"
        return
    await mysql_execute(f"CREATE DATABASE `{name}`")
    try:
        yield f"mysql://{MYSQL_USER}@{MYSQL_HOST}:{MYSQL_PORT}/{name}"
    finally:
        await mysql_execute(f"DROP DATABASE IF EXISTS `{name}`")
