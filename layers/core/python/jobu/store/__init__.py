"""The job store: one async interface, three backends (PostgreSQL, MySQL/MariaDB, SQLite)."""

from __future__ import annotations

from jobu.store.connector import Connector
from jobu.store.job_store import JobStore

__all__ = ["Connector", "JobStore", "connector_for", "open_store"]


def connector_for(url: str) -> Connector:
    """The connector for a database URL: postgresql://, mysql://, sqlite:///path."""
    scheme = url.split(":", 1)[0].lower()
    if scheme in ("postgres", "postgresql"):
        from jobu.store.postgres import PostgresConnector

        return PostgresConnector(url)
    if scheme in ("mysql", "mariadb"):
        from jobu.store.mysql import MySQLConnector

        return MySQLConnector(url)
    if scheme == "sqlite":
        from jobu.store.sqlite import SQLiteConnector

        return SQLiteConnector(url)
    raise ValueError(f"unsupported database URL scheme {scheme!r}: use postgresql://, mysql:// or sqlite:///")


async def open_store(url: str) -> JobStore:
    """A connected JobStore for `url` (raises StoreUnavailableError when it cannot connect)."""
    store = JobStore(connector_for(url))
    await store.open()
    return store
