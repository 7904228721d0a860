"""MySQL 8 / MariaDB 10.6+ through asyncmy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import asyncmy
from asyncmy.errors import IntegrityError, OperationalError

from jobu.errors import DuplicateError, StoreUnavailableError
from jobu.store.asyncmy_adapter import AsyncMyAdapter
from jobu.store.connector import Connector

# Server error codes that mean "try again later": connection refused/lost/gone, too many
# connections, lock wait timeout, deadlock.
_UNAVAILABLE_CODES = frozenset({1040, 1205, 1213, 2002, 2003, 2006, 2013, 2055})
_DUPLICATE_KEY = 1062


def _is_unavailable(error: Exception) -> bool:
    if isinstance(error, OSError | TimeoutError):
        return True
    return isinstance(error, OperationalError) and bool(error.args) and error.args[0] in _UNAVAILABLE_CODES


def connect_kwargs(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
        "db": parts.path.lstrip("/") or None,
    }


class MySQLConnector(Connector):
    backend = "mysql"

    def __init__(self, url: str, *, max_connections: int = 4) -> None:
        super().__init__(url)
        self._max_connections = max_connections
        self._pool: Any = None

    def _adapter(self) -> Any:
        return AsyncMyAdapter

    async def open(self) -> None:
        try:
            self._pool = await asyncmy.create_pool(
                **connect_kwargs(self.url),
                minsize=1,
                maxsize=self._max_connections,
                autocommit=True,
                connect_timeout=10,
                init_command="SET time_zone = '+00:00'",
            )
        except Exception as error:
            if _is_unavailable(error):
                raise StoreUnavailableError(f"MySQL is unreachable: {error}") from error
            raise

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            await self._pool.wait_closed()
            self._pool = None

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        if self._pool is None:
            raise StoreUnavailableError("the MySQL pool is not open")
        try:
            async with self._pool.acquire() as conn:
                yield conn
        except IntegrityError as error:
            if error.args and error.args[0] == _DUPLICATE_KEY:
                raise DuplicateError(str(error)) from error
            raise
        except Exception as error:
            if _is_unavailable(error):
                raise StoreUnavailableError(f"MySQL is unreachable: {error}") from error
            raise

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        async with self.connection() as conn:
            await conn.begin()
            try:
                yield conn
            except BaseException:
                await conn.rollback()
                raise
            await conn.commit()

    async def execute_script(self, conn: Any, sql: str) -> None:
        await AsyncMyAdapter().execute_script(conn, sql)

    def affected_rows(self, result: Any) -> int:
        return int(result)

    def encode_time(self, value: datetime | None) -> Any:
        # DATETIME(6) holds naive UTC
        return None if value is None else value.astimezone(UTC).replace(tzinfo=None)
