"""The job store: one async interface, three backends (PostgreSQL, MySQL/MariaDB, SQLite)."""

from __future__ import annotations

from collections.abc import Callable

from jobu.store.connector import Connector
from jobu.store.job_store import JobStore

__all__ = ["Connector", "JobStore", "connector_for", "open_store"]

DEFAULT_POOL_SIZE = 4


def connector_for(
    url: str, *, max_connections: int = DEFAULT_POOL_SIZE, refresh_url: Callable[[], str] | None = None
) -> Connector:
    """The connector for a database URL: postgresql://, mysql://, sqlite:///path.

    `max_connections` bounds the pool (SQLite has one connection); `refresh_url` reads the URL
    again after an authentication failure (a rotated secret), for one rebuild of the pool.
    """
    scheme = url.split(":", 1)[0].lower()
    if scheme in ("postgres", "postgresql"):
        from jobu.store.postgres import PostgresConnector

        return PostgresConnector(url, max_connections=max_connections, refresh_url=refresh_url)
    if scheme in ("mysql", "mariadb"):
        from jobu.store.mysql import MySQLConnector

        return MySQLConnector(url, max_connections=max_connections, refresh_url=refresh_url)
    if scheme == "sqlite":
        from jobu.store.sqlite import SQLiteConnector

        return SQLiteConnector(url)
    raise ValueError(f"unsupported database URL scheme {scheme!r}: use postgresql://, mysql:// or sqlite:///")


async def open_store(
    url: str, *, max_connections: int = DEFAULT_POOL_SIZE, refresh_url: Callable[[], str] | None = None
) -> JobStore:
    """A connected JobStore for `url` (raises StoreUnavailableError when it cannot connect)."""
    store = JobStore(connector_for(url, max_connections=max_connections, refresh_url=refresh_url))
    await store.open()
    return store
