"""The job store's database as a transactional handler sees it: one transaction, lent every time.

The worker opens the transaction, runs the handler with this in its context, and records the
run's SUCCESS on the same connection before committing; so the handler's writes and the run's
outcome commit together or not at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from jobu.store.connector import Connector


class TransactionDatabase:
    def __init__(self, connector: Connector, transaction: Any) -> None:
        self._connector = connector
        self._transaction = transaction

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
        # the run's transaction: committed or rolled back by the worker, never here
        yield self._transaction

    def encode_json(self, value: Any) -> Any:
        return self._connector.encode_json(value)

    def encode_time(self, value: datetime | None) -> Any:
        return self._connector.encode_time(value)
