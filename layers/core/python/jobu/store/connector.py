"""One small interface per database driver: connections, transactions and value encoding.

JobStore is written once against this interface; each backend module implements it and turns
its driver's errors into jobu's own exceptions (StoreUnavailableError, DuplicateError).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import aiosql

SQL_DIR = Path(__file__).with_name("sql")


@cache
def _load_queries(adapter: Any, sql_dir: Path, backend: str) -> Any:
    """sql_dir/common/*.sql (written once for every backend) plus sql_dir/<backend>/*.sql."""
    parts = sorted((sql_dir / "common").glob("*.sql")) + sorted((sql_dir / backend).glob("*.sql"))
    sql = "\n".join(p.read_text() for p in parts)
    return aiosql.from_str(sql, adapter, mandatory_parameters=False)


class Connector(ABC):
    """A pool of connections to one database, and how to talk to it."""

    backend: ClassVar[str]

    def __init__(self, url: str) -> None:
        self.url = url

    @abstractmethod
    def _adapter(self) -> Any:
        """The aiosql driver adapter for this backend (a name or an adapter class)."""

    @property
    def jobu_queries(self) -> Any:
        """jobu's own queries: sql/common plus sql/<backend>."""
        return _load_queries(self._adapter(), SQL_DIR, self.backend)

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
    def transaction(self) -> AbstractAsyncContextManager[Any]:
        """Lend a connection inside a transaction, committed on exit, rolled back on error."""

    @abstractmethod
    async def execute_script(self, conn: Any, sql: str) -> None:
        """Run a file of DDL statements."""

    @abstractmethod
    def affected_rows(self, result: Any) -> int:
        """Rows matched by an UPDATE/DELETE, from what the adapter returned."""

    def encode_json(self, value: Any) -> Any:
        return None if value is None else json.dumps(value, separators=(",", ":"))

    @abstractmethod
    def encode_time(self, value: datetime | None) -> Any: ...
