"""The job store's database as a handler sees it (HandlerContext.database).

A handler gets pooled connections that are reset before jobu or another handler uses them again
(Connector.lend): whatever session state handler code leaves behind stays with it.

A transactional handler gets one transaction, lent every time: the worker opens it, runs the
handler with it in its context, and records the run's SUCCESS on the same connection before
committing; so the handler's writes and the run's outcome commit together or not at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from jobu.models import Batch, Execution, NewExecution
from jobu.store.connector import Connector
from jobu.store.job_store import JobStore


class HandlerDatabase:
    def __init__(self, connector: Connector) -> None:
        self._connector = connector
        # the runs create_batch wrote, unsent: the worker sends them once they are committed (for a
        # transactional handler, with the run's SUCCESS), else the sweeper does
        self.made: list[Execution] = []

    @property
    def backend(self) -> str:
        return self._connector.backend

    @property
    def url(self) -> str:
        return self._connector.url

    def queries(self, sql_dir: Path) -> Any:
        return self._connector.queries(sql_dir)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        async with self._connector.connection() as conn:
            self._connector.lend(conn)
            yield conn

    def encode_json(self, value: Any) -> Any:
        return self._connector.encode_json(value)

    def encode_time(self, value: datetime | None) -> Any:
        return self._connector.encode_time(value)

    async def create_batch(
        self,
        runs: Sequence[NewExecution],
        *,
        on_success: Mapping[str, Any] | None,
        on_complete: Mapping[str, Any] | None,
        created_by: str,
        now: datetime,
    ) -> tuple[Batch, list[Execution]]:
        batches = JobStore(self._connector).batches  # its parts as the store wires them (limits, outbox)
        async with self._batch_transaction() as tx:
            batch, children = await batches.create(
                runs, on_success=on_success, on_complete=on_complete, created_by=created_by, now=now, conn=tx
            )
        self.made.extend(children)
        return batch, children

    @asynccontextmanager
    async def _batch_transaction(self) -> AsyncIterator[Any]:
        async with self._connector.transaction() as tx:
            yield tx


class TransactionDatabase(HandlerDatabase):
    def __init__(self, connector: Connector, transaction: Any) -> None:
        super().__init__(connector)
        self._transaction = transaction

    @asynccontextmanager
    async def _batch_transaction(self) -> AsyncIterator[Any]:
        # the run's own: the batch commits with its SUCCESS, or not at all
        yield self._transaction

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        # the run's transaction: committed or rolled back by the worker, never here; reset when
        # the worker gives its connection back to the pool
        self._connector.lend(self._transaction)
        yield self._transaction
