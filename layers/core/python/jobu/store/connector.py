"""One small interface per database driver: connections, transactions and value encoding.

JobStore is written once against this interface; each backend module implements it and turns
its driver's errors into jobu's own exceptions (StoreUnavailableError, DuplicateError,
DatabaseAuthenticationError).

Pooled backends (PostgreSQL, MySQL) share the pool's life cycle here: when the database refuses
the credentials (a rotated password), the URL is read again (`refresh_url`: the secret, fetched
fresh) and the pool rebuilt, once, so a warm container survives a rotation. A warm container also
survives a server restart: a connection that broke is discarded with every connection idle beside it
(they broke with it), a pool that sat unused for a while has its first connection checked before it
is lent, and `run` does its work again on a fresh connection when the first broke under it, or again
(a few times) when the database rolled its transaction back to break a deadlock.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

from jobu import param_match
from jobu.errors import ConnectionLostError, DatabaseAuthenticationError, TransactionConflictError
from jobu.store.aiosql_package import aiosql, query_loader
from jobu.store.tls import Connection, connection

SQL_DIR = Path(__file__).with_name("sql")
# A pool unused this long may hold connections the server closed meanwhile (a restart, a failover, an
# idle timeout; a Lambda container is frozen between invocations): the first connection lent after
# such a pause is pinged first. Back-to-back work never pays the round trip.
IDLE_CHECK_SECONDS = 1.0
# A transaction rolled back by a deadlock or a lock wait timeout runs at most this many times in all.
CONFLICT_ATTEMPTS = 5


@contextmanager
def _comment_scan_only_where_comments_are() -> Iterator[None]:
    """aiosql 15 looks for /* */ comments with a pattern that also matches the empty string, so it
    makes a match object for every character of the SQL: tens of milliseconds of every cold start
    for jobu's files. Text without "/*" has no such comment to remove, so it is returned as it is;
    text with one goes through aiosql's own scan. Same result, without the scan where it finds nothing.
    """
    scan = query_loader._remove_ml_comments
    query_loader._remove_ml_comments = lambda code: scan(code) if "/*" in code else code
    try:
        yield
    finally:
        query_loader._remove_ml_comments = scan


def _sql_files(sql_dir: Path, backend: str) -> list[Path]:
    """sql_dir/common/*.sql (written once for every backend) plus sql_dir/<backend>/*.sql."""
    return sorted((sql_dir / "common").glob("*.sql")) + sorted((sql_dir / backend).glob("*.sql"))


@cache
def _load_queries(adapter: Any, sql_dir: Path, backend: str) -> Any:
    """Every query of sql_dir's files for `backend`, parsed now (a handler's own queries)."""
    sql = "\n".join(p.read_text() for p in _sql_files(sql_dir, backend))
    with _comment_scan_only_where_comments_are():
        return aiosql.from_str(sql, adapter, mandatory_parameters=False)


@cache
def _lazy_queries(adapter: Any, sql_dir: Path, backend: str) -> LazyQueries:
    return LazyQueries(adapter, _sql_files(sql_dir, backend))


# aiosql's own split of a file into queries (query_loader._QUERY_DEF), and the name that starts each
_QUERY_DEF = re.compile(r"--\s*name\s*:\s*")
_QUERY_NAME = re.compile(r"[\w-]+")


class LazyQueries:
    """jobu's queries, each parsed by aiosql when it is first used: `queries.get_execution(conn, ...)`
    as on aiosql's Queries.

    aiosql parses every query of the text it is given (signature, parameters, the driver's SQL):
    for jobu's ~146 queries about 101 M instructions at a store's first use, where a function's
    first invocation runs a dozen of them. Here the files are read and cut at aiosql's own
    `-- name:` marks once, at the first query asked for (each query's text kept under its name,
    a name defined twice refused as aiosql refuses it), and aiosql parses a query's text the first
    time that query is asked for, into one Queries of one driver adapter, as if it had been loaded
    with all the others. `parsed` holds those parsed so far (tests/unit/test_cold_start_imports.py
    keeps each cold path to the queries it runs).
    """

    def __init__(self, adapter: Any, files: Sequence[Path]) -> None:
        self._files = tuple(files)
        # an empty Queries made by aiosql itself, with the adapter it makes for `adapter`
        self._queries = aiosql.from_str("", adapter, mandatory_parameters=False)
        self._loader = query_loader.QueryLoader(
            self._queries.driver_adapter, None, attribute="__", mandatory_parameters=False
        )
        self._texts: dict[str, tuple[Path, int, str]] | None = None
        self._lock = threading.Lock()
        self.parsed: dict[str, Path] = {}  # each query parsed so far, and its file

    def _index(self) -> dict[str, tuple[Path, int, str]]:
        texts: dict[str, tuple[Path, int, str]] = {}
        for path in self._files:
            sql = path.read_text()
            if "/*" in sql:  # a -- name: inside a /* */ comment names no query (aiosql's order)
                sql = query_loader._remove_ml_comments(sql)
            first, *parts = _QUERY_DEF.split(sql)
            line = 1 + first.count("\n")
            for part in parts:
                found = _QUERY_NAME.match(part)
                name = (found.group() if found else part.split("\n", 1)[0]).replace("-", "_")
                if name in texts:
                    other, at, _ = texts[name]
                    raise aiosql.SQLLoadException(
                        f"query {name} defined twice: {other}:{at} and {path}:{line}"
                    )
                if name in self.__dict__ or hasattr(LazyQueries, name):  # as aiosql's add_query
                    raise aiosql.SQLLoadException(f"cannot override existing attribute with query: {name}")
                texts[name] = (path, line, part)
                line += part.count("\n")
        return texts

    @property
    def names(self) -> list[str]:
        """Every query's name (those not parsed yet too)."""
        with self._lock:
            if self._texts is None:
                self._texts = self._index()
            return sorted(self._texts)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        with self._lock:
            if name not in self.__dict__:
                self._parse(name)
        return self.__dict__[name]

    def _parse(self, name: str) -> None:
        if self._texts is None:
            self._texts = self._index()
        # a SELECT's cursor form (name_cursor) is made with it
        key = name if name in self._texts else name.removesuffix("_cursor")
        if key not in self._texts:
            raise AttributeError(f"no query named {name!r} in {', '.join(str(p) for p in self._files)}")
        path, line, text = self._texts[key]
        if key not in self.parsed:
            # the lines before it kept as newlines: aiosql gives the query's functions its file and line
            with _comment_scan_only_where_comments_are():
                data = self._loader.load_query_data_from_sql("\n" * (line - 1) + "-- name: " + text, [], path)
            self._queries.load_from_list(data)
            self.parsed[key] = path
        self.__dict__[name] = getattr(self._queries, name)


class CancelRequests(ABC):
    """Cancel requests kept apart from the database (SQLite's: jobu.store.sqlite), each for one
    attempt of a run, where the run's own long transaction cannot block them."""

    @abstractmethod
    async def add(
        self, execution_id: int, attempt: int, started_at: datetime | None, *, now: datetime
    ) -> None:
        """A request for the attempt of the run that started at `started_at`."""

    @abstractmethod
    async def requested_at(
        self, execution_id: int, attempt: int, started_at: datetime | None
    ) -> datetime | None: ...


class Connector(ABC):
    """A pool of connections to one database, and how to talk to it."""

    backend: ClassVar[str]
    # Whether a tick's SKIP LOCKED read can pass over a due job another transaction holds (row
    # locks); SQLite has one writer at a time, so it never does.
    skips_locked_rows: ClassVar[bool] = True
    # None: cancel requests are the runs' own cancel_requested_at (row locks never hold them up)
    cancel_requests: CancelRequests | None = None
    # Whether INSERT ... RETURNING gives a multi-row insert's ids (PostgreSQL, SQLite); MySQL 8 has no
    # RETURNING, so its rows are inserted one statement each (Runs.insert_api_many)
    returns_inserted_rows: ClassVar[bool] = True

    def __init__(self, url: str) -> None:
        self.url = url

    @abstractmethod
    def _adapter(self) -> Any:
        """The aiosql driver adapter for this backend (a name or an adapter class)."""

    @property
    def jobu_queries(self) -> Any:
        """jobu's own queries: sql/common plus sql/<backend>, each parsed at its first use."""
        return _lazy_queries(self._adapter(), SQL_DIR, self.backend)

    def queries(self, sql_dir: Path) -> Any:
        """Queries of a handler that keeps tables of its own: sql_dir/common and sql_dir/<backend>."""
        return _load_queries(self._adapter(), sql_dir, self.backend)

    @abstractmethod
    async def open(self) -> None:
        """Create the pool; raises StoreUnavailableError when the database cannot be reached."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    def connection(self) -> AbstractAsyncContextManager[Any]:
        """Lend a pooled connection (autocommit)."""

    @abstractmethod
    def lend(self, conn: Any) -> None:
        """Say that `conn` (from connection()) is handed to handler code before it goes back.

        jobu's own queries set no session state (no SET, locks, cursors, LISTEN), so their
        connections go back to the pool as they are, without a reset round trip. Handler code
        (HandlerContext.database) may leave any of those behind, so a lent connection is reset
        before another borrower gets it.
        """

    @abstractmethod
    def transaction_on(self, conn: Any) -> AbstractAsyncContextManager[None]:
        """A transaction on a connection already lent by connection(): committed on exit, rolled
        back on error."""

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        """Lend a connection inside a transaction, committed on exit, rolled back on error."""
        async with self.connection() as conn, self.transaction_on(conn):
            yield conn

    async def run[T](
        self,
        work: Callable[[Any], Awaitable[T]],
        *,
        transaction: bool = False,
        conflict_attempts: int = CONFLICT_ATTEMPTS,
    ) -> T:
        """`work(conn)` on a lent connection, inside a transaction when asked. Pooled backends run it
        again when the database could not keep it (see PooledConnector.run), so `work` must be safe
        to run twice: every jobu statement is (at-least-once everywhere)."""
        async with self.transaction() if transaction else self.connection() as conn:
            return await work(conn)

    @abstractmethod
    async def execute_script(self, conn: Any, sql: str) -> None:
        """Run a file of DDL statements."""

    @abstractmethod
    def affected_rows(self, result: Any) -> int:
        """Rows matched by an UPDATE/DELETE, from what the adapter returned."""

    def encode_json(self, value: Any) -> Any:
        return None if value is None else json.dumps(value, separators=(",", ":"))

    def encode_param_match(self, matches: Mapping[str, str]) -> Any:
        """The runs list's params filter ({key: value}) as this backend's queries read it: a JSON
        list of the keys and the values each may match (jobu.param_match)."""
        return self.encode_json(param_match.as_rows(matches))

    @abstractmethod
    def encode_time(self, value: datetime | None) -> Any: ...

    def encode_json_time(self, value: datetime) -> str:
        """A datetime inside a JSON parameter (unpacked by JSON_TABLE / json_each): naive UTC text,
        which MySQL's DATETIME(6) and SQLite's text columns hold as is."""
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


class PooledConnector(Connector):
    """A connector over a driver's pool, rebuilt once when the credentials stop working."""

    def __init__(
        self, url: str, *, max_connections: int = 4, refresh_url: Callable[[], str] | None = None
    ) -> None:
        super().__init__(url)
        self.max_connections = max_connections
        self._refresh_url = refresh_url
        self._pool: Any = None
        self._generation = 0  # bumped on each rebuild, so concurrent failures rebuild once
        self._rebuild_lock = asyncio.Lock()
        self._retired: set[asyncio.Task[None]] = set()
        self._lent: set[int] = set()  # id() of the connections out now that handler code holds
        self._busy = 0  # connections out now
        self._quiet_since = time.monotonic()  # when the last one came back

    @property
    def target(self) -> Connection:
        """The URL without its TLS query, and the driver's `ssl` argument."""
        return connection(self.url)

    @abstractmethod
    async def _create_pool(self) -> Any:
        """A new pool for self.url; raises DatabaseAuthenticationError or StoreUnavailableError."""

    @abstractmethod
    async def _close_pool(self, pool: Any) -> None: ...

    @abstractmethod
    async def _acquire(self, pool: Any) -> Any:
        """A connection from `pool` (translating the driver's errors)."""

    @abstractmethod
    async def _release(self, pool: Any, conn: Any, *, lent: bool) -> None:
        """Give `conn` back to `pool`, reset first when it was lent to handler code."""

    @abstractmethod
    async def _discard(self, pool: Any, conn: Any) -> None:
        """Close `conn`, which broke, and the connections idle in `pool` (the same restart broke them)."""

    @abstractmethod
    @contextmanager
    def _translated_errors(self) -> Iterator[None]:
        """The driver's errors raised inside the block, as jobu's own: ConnectionLostError when the
        connection broke, TransactionConflictError for a deadlock or a lock wait timeout."""

    async def open(self) -> None:
        generation = self._generation
        try:
            self._pool = await self._create_pool()
        except DatabaseAuthenticationError:
            if not await self._rebuild(generation):
                raise

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await self._close_pool(pool)
        if self._retired:
            await asyncio.gather(*self._retired, return_exceptions=True)

    async def _rebuild(self, failed_generation: int) -> bool:
        """Read the URL again and open a new pool; False when there is nothing new to try."""
        if self._refresh_url is None:
            return False
        async with self._rebuild_lock:
            if self._generation != failed_generation:
                return True  # another task rebuilt the pool since this one failed
            url = await asyncio.to_thread(self._refresh_url)
            if url == self.url:
                return False  # the same credentials would be refused again
            from jobu.observability import logger

            target = connection(url)
            logger.warning(
                "database credentials changed (rotated secret): reconnecting",
                extra={"database_host": target.host, "database_user": target.user},
            )
            self.url = url
            old, self._pool = self._pool, await self._create_pool()
            self._generation += 1
            if old is not None:
                # connections still lent from the old pool finish their work, then it closes
                task = asyncio.create_task(self._close_pool(old))
                self._retired.add(task)
                task.add_done_callback(self._retired.discard)
            return True

    async def _checkout(self) -> tuple[Any, Any]:
        generation, pool = self._generation, self._pool
        if pool is None:
            from jobu.errors import StoreUnavailableError

            raise StoreUnavailableError(f"the {self.backend} pool is not open")
        try:
            return pool, await self._acquire(pool)
        except DatabaseAuthenticationError:
            if not await self._rebuild(generation):
                raise
        return self._pool, await self._acquire(self._pool)

    async def _checked(self, pool: Any, conn: Any) -> Any:
        """`conn` if it still answers, else (discarded) a fresh connection from `pool`."""
        try:
            with self._translated_errors():
                await self.jobu_queries.ping(conn)
        except ConnectionLostError:
            await self._discard(pool, conn)
            return await self._acquire(pool)
        except BaseException:
            await self._release(pool, conn, lent=False)
            raise
        return conn

    def lend(self, conn: Any) -> None:
        self._lent.add(id(conn))

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        quiet = self._busy == 0 and time.monotonic() - self._quiet_since > IDLE_CHECK_SECONDS
        pool, conn = await self._checkout()
        if quiet:
            conn = await self._checked(pool, conn)
        self._busy += 1
        broken = False
        try:
            with self._translated_errors():
                yield conn
        except ConnectionLostError:
            broken = True
            raise
        finally:
            self._busy -= 1
            self._quiet_since = time.monotonic()
            lent = id(conn) in self._lent
            self._lent.discard(id(conn))
            if broken:
                await self._discard(pool, conn)
            else:
                await self._release(pool, conn, lent=lent)

    async def run[T](
        self,
        work: Callable[[Any], Awaitable[T]],
        *,
        transaction: bool = False,
        conflict_attempts: int = CONFLICT_ATTEMPTS,
    ) -> T:
        """`work(conn)`, again on a fresh connection if the first broke under it (once: a server
        that is down stays StoreUnavailableError), and again after a deadlock or a lock wait timeout
        (up to `conflict_attempts` in all, after a short random pause so the two sides part)."""
        conflicts, lost = 0, False
        while True:
            try:
                async with self.transaction() if transaction else self.connection() as conn:
                    return await work(conn)
            except ConnectionLostError:
                if lost:
                    raise
                lost = True
            except TransactionConflictError as error:
                conflicts += 1
                if conflicts >= conflict_attempts:
                    raise
                from jobu.observability import logger

                logger.warning(
                    "transaction rolled back by the database: running it again",
                    extra={"error": str(error), "attempt": conflicts + 1},
                )
                await asyncio.sleep(random.uniform(0.0, 0.02 * 2**conflicts))


def authentication_failure(backend: str, target: Connection, error: Exception) -> DatabaseAuthenticationError:
    """One line naming host, user and database, never the password."""
    port = f":{target.port}" if target.port else ""
    return DatabaseAuthenticationError(
        f"{backend} at {target.host}{port} refused user {target.user!r} for database {target.database!r}: "
        f"{type(error).__name__} (wrong or rotated password? check the database secret)"
    )
