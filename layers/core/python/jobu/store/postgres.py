"""PostgreSQL through asyncpg."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg

from jobu import param_match
from jobu.errors import ConnectionLostError, DuplicateError, StoreUnavailableError, TransactionConflictError
from jobu.store.connector import PooledConnector, authentication_failure

# The connection broke under a statement (the server restarted or cut it), or was left unusable
# (InterfaceError: "connection is closed", "another operation is in progress" after a cancelled
# statement): it is discarded, and a fresh one may work.
_LOST = (
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.InterfaceError,
)
# Errors that mean "the database is not there right now", as opposed to a bad query.
_UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
)
# The transaction was rolled back and may simply be run again: a deadlock, a serialization failure,
# a lock wait past lock_timeout.
_CONFLICT = (
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.LockNotAvailableError,
)
# The server refused the credentials: SQLSTATE class 28 (invalid password, no such role, no
# pg_hba.conf entry).
_AUTHENTICATION = (
    asyncpg.exceptions.InvalidPasswordError,
    asyncpg.exceptions.InvalidAuthorizationSpecificationError,
)


async def _no_reset(conn: asyncpg.Connection) -> None:
    """What the pool runs on every release instead of asyncpg's reset query (one round trip).

    asyncpg still rolls back an open transaction first. Beyond that nothing is needed for jobu's
    own queries, which set no session state; a connection lent to a handler is reset in full by
    the connector before it is released (PostgresConnector._release).
    """


async def _init_connection(conn: asyncpg.Connection) -> None:
    # JSON in and out as Python objects, so every backend's rows validate the same way
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


class PostgresConnector(PooledConnector):
    backend = "postgres"

    def _adapter(self) -> Any:
        return "asyncpg"

    @contextmanager
    def _translated_errors(self) -> Iterator[None]:
        try:
            yield
        except asyncpg.UniqueViolationError as error:
            raise DuplicateError(str(error)) from error
        except _AUTHENTICATION as error:
            raise authentication_failure("PostgreSQL", self.target, error) from None
        except _CONFLICT as error:
            raise TransactionConflictError(f"PostgreSQL rolled the transaction back: {error}") from error
        except _LOST as error:
            lost = f"PostgreSQL connection lost: {type(error).__name__}: {error}"
            raise ConnectionLostError(lost) from error
        except _UNAVAILABLE as error:
            raise StoreUnavailableError(f"PostgreSQL is unreachable: {error}") from error

    async def _create_pool(self) -> Any:
        target = self.target
        with self._translated_errors():
            return await asyncpg.create_pool(
                target.url,
                ssl=target.ssl,
                min_size=1,
                max_size=self.max_connections,
                init=_init_connection,
                reset=_no_reset,
                timeout=10,
            )

    async def _close_pool(self, pool: Any) -> None:
        await pool.close()

    async def _acquire(self, pool: Any) -> Any:
        with self._translated_errors():
            return await pool.acquire()

    async def _release(self, pool: Any, conn: Any, *, lent: bool) -> None:
        try:
            if lent:
                # asyncpg's own reset: rollback, then advisory locks, cursors, LISTEN, settings
                await conn.reset()
        except Exception:
            conn.terminate()  # the pool opens a new connection in its place
        finally:
            await pool.release(conn)

    async def _discard(self, pool: Any, conn: Any) -> None:
        # a connection asyncpg saw close was handed back to the pool by asyncpg itself already
        with contextlib.suppress(asyncpg.InterfaceError):
            conn.terminate()
        await pool.release(conn)
        await pool.expire_connections()  # each idle one is replaced before it is lent again

    @asynccontextmanager
    async def transaction_on(self, conn: Any) -> AsyncIterator[None]:
        async with conn.transaction():
            yield

    async def execute_script(self, conn: Any, sql: str) -> None:
        await conn.execute(sql)

    def affected_rows(self, result: Any) -> int:
        # asyncpg returns the command tag, e.g. "UPDATE 1" or "INSERT 0 3"
        return int(str(result).rsplit(" ", 1)[-1])

    def encode_json(self, value: Any) -> Any:
        return value  # the connection's codec encodes

    def encode_param_match(self, matches: Mapping[str, str]) -> Any:
        # one jsonpath predicate: `params @@ path` is answered by the GIN index on params
        return param_match.as_jsonpath(matches)

    def encode_time(self, value: datetime | None) -> Any:
        return value

    def encode_json_time(self, value: datetime) -> str:
        # with its offset: a bare timestamp would be read in the session's time zone
        return value.astimezone(UTC).isoformat()
