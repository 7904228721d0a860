"""SQLite through aiosqlite: the embedded default for local runs and the fastest tests."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import Any

import aiosqlite

from jobu.errors import DuplicateError, StoreUnavailableError
from jobu.store.connector import CancelRequests, Connector

# the cancel requests' file: the database's path with this added (SQLiteCancelRequests)
CANCEL_REQUESTS_SUFFIX = "-cancel-requests"
_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN})


def naive_utc_text(value: datetime) -> str:
    """Times are stored as this text ('YYYY-MM-DD HH:MM:SS.ffffff', UTC), which sorts as time sorts, so
    comparisons in SQL work on the text; the year always has four digits (strftime gives '874')."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def sqlite_path(url: str) -> str:
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        raise ValueError(f"not a SQLite URL (expected sqlite:///path): {url!r}")
    return url[len(prefix) :]


async def _connect(path: str) -> aiosqlite.Connection:
    """An autocommit connection in WAL mode that waits up to 10 s for another writer."""
    connection = aiosqlite.connect(path, isolation_level=None)
    # aiosqlite's thread is not a daemon: Python joins such threads at exit BEFORE atexit
    # handlers run, so a process that never closed its store (Container.close is one of those
    # handlers) would wait forever. A daemon thread lets the handler run, and close it.
    connection._thread.daemon = True
    try:
        opened = await connection
    except sqlite3.OperationalError as error:
        # aiosqlite stops its thread after a failed connect without waiting for it; its last
        # callback needs this loop open (a CLI's asyncio.run closes it as the error propagates)
        await asyncio.to_thread(connection._thread.join, 5)
        raise StoreUnavailableError(f"SQLite database cannot be opened: {error}") from error
    opened.row_factory = sqlite3.Row
    await opened.execute("PRAGMA journal_mode = WAL")
    await opened.execute("PRAGMA busy_timeout = 10000")
    return opened


class SQLiteCancelRequests(CancelRequests):
    """Cancel requests in a file of their own beside the database (sql/sqlite/cancel_requests.sql):
    a transactional handler holds the database's one write lock, and the store's one connection,
    for as long as it runs, so a request kept in the database could be neither written nor read
    until that run had ended."""

    def __init__(self, conn: aiosqlite.Connection, queries: Any) -> None:
        self._conn, self._q = conn, queries

    async def create(self) -> None:
        await self._q.create_cancel_requests(self._conn)

    async def close(self) -> None:
        await self._conn.close()

    async def add(
        self, execution_id: int, attempt: int, started_at: datetime | None, *, now: datetime
    ) -> None:
        started, at = _started(started_at), naive_utc_text(now)
        with _busy_unavailable():
            await self._q.add_cancel_request(
                self._conn, execution_id=execution_id, attempt=attempt, started_at=started, now=at
            )

    async def requested_at(
        self, execution_id: int, attempt: int, started_at: datetime | None
    ) -> datetime | None:
        started = _started(started_at)
        with _busy_unavailable():
            at = await self._q.cancel_request(
                self._conn, execution_id=execution_id, attempt=attempt, started_at=started
            )
        return None if at is None else datetime.fromisoformat(at).replace(tzinfo=UTC)


def _started(started_at: datetime | None) -> str:
    return "" if started_at is None else naive_utc_text(started_at)


@contextmanager
def _busy_unavailable() -> Iterator[None]:
    try:
        yield
    except sqlite3.OperationalError as error:
        if error.sqlite_errorcode in _BUSY_CODES:
            raise StoreUnavailableError(f"SQLite database is busy: {error}") from error
        raise


class SQLiteConnector(Connector):
    backend = "sqlite"
    skips_locked_rows = False
    cancel_requests: SQLiteCancelRequests | None

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._conn: aiosqlite.Connection | None = None
        self.cancel_requests = None
        # One connection per store: the lock keeps one task's transaction from seeing another's
        # statements (SQLite allows one writer at a time anyway).
        self._lock = asyncio.Lock()

    def _adapter(self) -> Any:
        return "aiosqlite"

    async def open(self) -> None:
        path = sqlite_path(self.url)
        self._conn = await _connect(path)
        await self._conn.execute("PRAGMA foreign_keys = ON")
        requests = ":memory:" if path == ":memory:" else path + CANCEL_REQUESTS_SUFFIX
        try:
            self.cancel_requests = SQLiteCancelRequests(await _connect(requests), self.jobu_queries)
            await self.cancel_requests.create()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if self.cancel_requests is not None:
            await self.cancel_requests.close()
            self.cancel_requests = None
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    def lend(self, conn: Any) -> None:
        """Nothing to do: connection() already ends any transaction handler code left open, and
        the one connection is the store's own (no pool to hand it on)."""

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        if self._conn is None:
            raise StoreUnavailableError("the SQLite connection is not open")
        async with self._lock:
            try:
                yield self._conn
            except sqlite3.IntegrityError as error:
                if error.sqlite_errorcode == sqlite3.SQLITE_CONSTRAINT_UNIQUE:
                    raise DuplicateError(str(error)) from error
                raise
            except sqlite3.OperationalError:
                with _busy_unavailable():
                    raise
            finally:
                if self._conn is not None and self._conn.in_transaction:
                    # left open by handler code: the next borrower's BEGIN would fail on it
                    await self._conn.execute("ROLLBACK")

    @asynccontextmanager
    async def transaction_on(self, conn: Any) -> AsyncIterator[None]:
        # IMMEDIATE takes the write lock up front, so two dispatchers queue instead of deadlocking
        await conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        await conn.execute("COMMIT")

    async def execute_script(self, conn: Any, sql: str) -> None:
        await conn.executescript(sql)

    def affected_rows(self, result: Any) -> int:
        return int(result)

    def encode_time(self, value: datetime | None) -> Any:
        return None if value is None else naive_utc_text(value)
