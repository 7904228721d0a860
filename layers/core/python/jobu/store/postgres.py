"""PostgreSQL through asyncpg."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg

from jobu.errors import DuplicateError, StoreUnavailableError
from jobu.store.connector import Connector

# Errors that mean "the database is not there right now", as opposed to a bad query.
_UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.AdminShutdownError,
)


async def _init_connection(conn: asyncpg.Connection) -> None:
    # JSON in and out as Python objects, so every backend's rows validate the same way
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


class PostgresConnector(Connector):
    backend = "postgres"

    def __init__(self, url: str, *, max_connections: int = 4) -> None:
        super().__init__(url)
        self._max_connections = max_connections
        self._pool: asyncpg.Pool | None = None

    def _adapter(self) -> Any:
        return "asyncpg"

    async def open(self) -> None:
        try:
            self._pool = await asyncpg.create_pool(
                self.url, min_size=1, max_size=self._max_connections, init=_init_connection, timeout=10
            )
        except _UNAVAILABLE as error:
            raise StoreUnavailableError(f"PostgreSQL is unreachable: {error}") from error

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        if self._pool is None:
            raise StoreUnavailableError("the PostgreSQL pool is not open")
        try:
            async with self._pool.acquire() as conn:
                yield conn
        except asyncpg.UniqueViolationError as error:
            raise DuplicateError(str(error)) from error
        except _UNAVAILABLE as error:
            raise StoreUnavailableError(f"PostgreSQL is unreachable: {error}") from error

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        async with self.connection() as conn, conn.transaction():
            yield conn

    async def execute_script(self, conn: Any, sql: str) -> None:
        await conn.execute(sql)

    def affected_rows(self, result: Any) -> int:
        # asyncpg returns the command tag, e.g. "UPDATE 1" or "INSERT 0 3"
        return int(str(result).rsplit(" ", 1)[-1])

    def encode_json(self, value: Any) -> Any:
        return value  # the connection's codec encodes

    def encode_time(self, value: datetime | None) -> Any:
        return value
