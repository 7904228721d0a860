"""What each part of the job store shares: the connector, jobu's queries, values bound for the driver.

The store is one part per noun (cron_jobs, runs, rejected_records, statistics), each over the same
connector and the same queries (sql/common/<noun>.sql and sql/<backend>/<noun>.sql, one set, each
query parsed at its first use, so a statement that spans two tables, such as the tick's, can use
both nouns' queries).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from jobu.models import Row
from jobu.store.connector import Connector

# the fields of a run the admin API makes (a keyless enqueued run, a batch's child), as a multi-row
# INSERT reads them from one JSON array (insert_api_executions, insert_batch_children)
API_RUN_FIELDS = (
    "handler_name",
    "params",
    "max_retry",
    "timeout_seconds",
    "available_at",
    "params_provenance",
    "priority",
    "tags",
    "concurrency_key",
    "expires_at",
    "trace_parent",
)


def rows_to[M: Row](model: type[M], rows: Sequence[Any]) -> list[M]:
    return [model.from_row(row) for row in rows]


def row_to[M: Row](model: type[M], row: Any) -> M | None:
    return None if row is None else model.from_row(row)


class Rows:
    """A part of the job store: its queries run on the store's connector."""

    def __init__(self, connector: Connector) -> None:
        self.connector = connector
        self._q = connector.jobu_queries

    def _t(self, value: datetime | None) -> Any:
        return self.connector.encode_time(value)

    def _j(self, value: Any) -> Any:
        return self.connector.encode_json(value)

    def _api_run_row(self, run: Any) -> dict[str, Any]:
        """A run's API_RUN_FIELDS for a multi-row INSERT's JSON array."""
        row: dict[str, Any] = {}
        for name in API_RUN_FIELDS:
            value = getattr(run, name)
            # a field left out is NULL on every backend; a JSON null would be stored as JSON 'null' on some
            if value is not None:
                row[name] = self.connector.encode_json_time(value) if isinstance(value, datetime) else value
        return row

    @asynccontextmanager
    async def _connection(self, conn: Any) -> AsyncIterator[Any]:
        """`conn` when the caller already holds one, else one from the pool."""
        if conn is not None:
            yield conn
        else:
            async with self.connector.connection() as lent:
                yield lent

    @asynccontextmanager
    async def _transaction(self, conn: Any) -> AsyncIterator[Any]:
        """`conn` when the caller already holds a transaction, else a new one."""
        if conn is not None:
            yield conn
        else:
            async with self.connector.transaction() as tx:
                yield tx

    async def _in_transaction[T](self, conn: Any, work: Callable[[Any], Awaitable[T]]) -> T:
        """`work` in the caller's transaction `conn`, or in one of its own, run again after a
        deadlock or on a fresh connection (connector.run): every such `work` is safe to repeat."""
        if conn is not None:
            return await work(conn)
        return await self.connector.run(work, transaction=True)

    # one statement each, run again on a fresh connection if the first broke under it; given
    # `conn` (the caller's transaction), on it, once: the caller's transaction decides

    async def _run[T](
        self, work: Callable[[Any], Awaitable[T]], conn: Any, *, transaction: bool = False
    ) -> T:
        """`work` on `conn` when the caller holds one (its transaction decides what a deadlock
        does), else through the connector, which runs it again after a deadlock, and on a fresh
        connection after a broken one."""
        if conn is not None:
            return await work(conn)
        return await self.connector.run(work, transaction=transaction)

    async def _select(self, query: str, *, conn: Any = None, **params: Any) -> list[Any]:
        async def select(c: Any) -> list[Any]:
            return [row async for row in getattr(self._q, query)(c, **params)]

        return await self._run(select, conn)

    async def _select_one(self, query: str, *, conn: Any = None, **params: Any) -> Any:
        async def select_one(c: Any) -> Any:
            return await getattr(self._q, query)(c, **params)

        return await self._run(select_one, conn)

    async def _update(self, query: str, *, conn: Any = None, **params: Any) -> int:
        async def update(c: Any) -> int:
            return self.connector.affected_rows(await getattr(self._q, query)(c, **params))

        return await self._run(update, conn)

    def _slots(self, pairs: Sequence[tuple[int, datetime]]) -> list[dict[str, Any]]:
        """(job_id, scheduled_time) pairs as the slot queries unpack them from one JSON parameter."""
        return [
            {"job_id": job_id, "scheduled_time": self.connector.encode_json_time(at)} for job_id, at in pairs
        ]
