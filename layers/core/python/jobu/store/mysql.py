"""MySQL 8 / MariaDB 10.6+ through asyncmy."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import asyncmy
from asyncmy.errors import IntegrityError, OperationalError

from jobu.errors import ConnectionLostError, DuplicateError, StoreUnavailableError, TransactionConflictError
from jobu.store.asyncmy_adapter import AsyncMyAdapter
from jobu.store.connector import PooledConnector, authentication_failure
from jobu.store.tls import connection

# Server error codes that mean "try again later": connection refused, too many connections.
_UNAVAILABLE_CODES = frozenset({1040, 2002, 2003})
# The connection broke under a statement (server gone away, lost during the query, lost at reading).
_LOST_CODES = frozenset({2006, 2013, 2055})
# The transaction was rolled back (a deadlock) or its statement was (a lock wait timeout; the
# connector rolls back the rest): running it again usually works.
_CONFLICT_CODES = frozenset({1205, 1213})
_ACCESS_DENIED = 1045
_DUPLICATE_KEY = 1062
# What every pooled session is set to at connect, and again after a reset: stored times are naive
# UTC, and READ COMMITTED. Under InnoDB's REPEATABLE READ a tick's locking read takes next-key locks
# on the due index that block another tick's insert into the same gaps, so concurrent ticks deadlock;
# READ COMMITTED locks only the rows found (as PostgreSQL does). MariaDB before 11.1 names the
# variable tx_isolation and MySQL 8 transaction_isolation: each server runs only its own executable
# comment (MariaDB ignores /*!80000 */, MySQL ignores /*M! */).
_SESSION_SETTINGS = (
    "time_zone = '+00:00'"
    " /*M!100000 , tx_isolation = 'READ-COMMITTED' */"
    " /*!80000 , transaction_isolation = 'READ-COMMITTED' */"
)
# COM_RESET_CONNECTION (MySQL 5.7.3+, MariaDB 10.2.4+): the session as a new connection has it,
# without reconnecting: transaction rolled back, table and user locks released, temporary tables
# dropped, session variables back to the server's defaults. asyncmy has no method for it.
_COM_RESET_CONNECTION = 0x1F


def _code(error: Exception) -> object:
    return error.args[0] if isinstance(error, OperationalError) and error.args else None


def _is_unavailable(error: Exception) -> bool:
    return isinstance(error, OSError | TimeoutError) or _code(error) in _UNAVAILABLE_CODES


def _is_lost(error: Exception) -> bool:
    # not ConnectionRefusedError: a server that refuses is unreachable, not a connection that broke
    broken = ConnectionResetError | ConnectionAbortedError | BrokenPipeError
    return isinstance(error, broken) or _code(error) in _LOST_CODES


def _is_authentication(error: Exception) -> bool:
    return isinstance(error, OperationalError) and bool(error.args) and error.args[0] == _ACCESS_DENIED


async def _reset_session(conn: Any) -> None:
    """Whatever handler code left in the session (autocommit off, LOCK TABLES, GET_LOCK, an open
    transaction, variables) is gone; then jobu's own settings again."""
    await conn._execute_command(_COM_RESET_CONNECTION, b"")
    await conn._read_ok_packet()
    async with conn.cursor() as cursor:
        await cursor.execute(f"SET {_SESSION_SETTINGS}, autocommit = 1")


def connect_kwargs(url: str) -> dict[str, Any]:
    """asyncmy's connect arguments for a mysql:// URL, TLS (its query) included."""
    target = connection(url)
    parts = urlsplit(target.url)
    kwargs: dict[str, Any] = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
        "db": unquote(parts.path.lstrip("/")) or None,
    }
    if isinstance(target.ssl, ssl.SSLContext):
        kwargs["ssl"] = target.ssl
    return kwargs


class MySQLConnector(PooledConnector):
    backend = "mysql"
    returns_inserted_rows = False  # MySQL 8 has no INSERT ... RETURNING (MariaDB has)

    def _adapter(self) -> Any:
        return AsyncMyAdapter

    @contextmanager
    def _translated_errors(self) -> Iterator[None]:
        try:
            yield
        except IntegrityError as error:
            if error.args and error.args[0] == _DUPLICATE_KEY:
                raise DuplicateError(str(error)) from error
            raise
        except Exception as error:
            if _is_authentication(error):
                raise authentication_failure("MySQL", self.target, error) from None
            if _code(error) in _CONFLICT_CODES:
                raise TransactionConflictError(f"MySQL rolled the transaction back: {error}") from error
            if _is_lost(error):
                lost = f"MySQL connection lost: {type(error).__name__}: {error}"
                raise ConnectionLostError(lost) from error
            if _is_unavailable(error):
                raise StoreUnavailableError(f"MySQL is unreachable: {error}") from error
            raise

    async def _create_pool(self) -> Any:
        with self._translated_errors():
            return await asyncmy.create_pool(
                **connect_kwargs(self.url),
                minsize=1,
                maxsize=self.max_connections,
                autocommit=True,
                connect_timeout=10,
                init_command=f"SET {_SESSION_SETTINGS}",
            )

    async def _close_pool(self, pool: Any) -> None:
        pool.close()
        await pool.wait_closed()

    async def _acquire(self, pool: Any) -> Any:
        with self._translated_errors():
            return await pool.acquire()

    async def _release(self, pool: Any, conn: Any, *, lent: bool) -> None:
        try:
            if lent and conn.connected:
                await _reset_session(conn)
        except Exception:
            conn.close()  # the pool drops a closed connection and opens a new one when needed
        finally:
            # asyncmy's pool closes a connection still in a transaction rather than keep it
            pool.release(conn)  # not a coroutine in asyncmy

    async def _discard(self, pool: Any, conn: Any) -> None:
        conn.close()
        pool.release(conn)  # a closed connection is not kept
        with contextlib.suppress(Exception):  # closing what a restart already broke may fail
            await pool.clear()  # each idle one is closed; new ones are opened when needed

    @asynccontextmanager
    async def transaction_on(self, conn: Any) -> AsyncIterator[None]:
        await conn.begin()
        try:
            yield
        except BaseException:
            try:
                await conn.rollback()
            except Exception:
                # asyncmy closes a connection whose statement was cancelled, so the rollback
                # cannot be sent; the server rolls back when the connection goes. The error
                # that got here is the one to raise (a CancelledError stays a cancellation).
                conn.close()
            raise
        await conn.commit()

    async def execute_script(self, conn: Any, sql: str) -> None:
        await AsyncMyAdapter().execute_script(conn, sql)

    def affected_rows(self, result: Any) -> int:
        return int(result)

    def encode_time(self, value: datetime | None) -> Any:
        # DATETIME(6) holds naive UTC
        return None if value is None else value.astimezone(UTC).replace(tzinfo=None)
