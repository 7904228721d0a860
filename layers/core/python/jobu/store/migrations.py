"""Applies the schema's numbered files, schema/<backend>/NNN_*.sql beside this module (package data,
so an installed jobu migrates without a checkout), in order, each once (recorded in
schema_migrations)."""

from __future__ import annotations

from pathlib import Path

from jobu.clock import utcnow
from jobu.store.connector import Connector

SCHEMA_DIR = Path(__file__).with_name("schema")


def default_schema_dir() -> Path:
    return SCHEMA_DIR


def migration_files(schema_dir: Path, backend: str) -> list[Path]:
    files = sorted((schema_dir / backend).glob("*.sql"))
    if not files:
        raise FileNotFoundError(f"no schema files for {backend} under {schema_dir / backend}")
    return files


async def apply_migrations(connector: Connector, schema_dir: Path | None = None) -> list[str]:
    """Apply the migrations not applied yet; returns their versions (file names)."""
    files = migration_files(schema_dir or default_schema_dir(), connector.backend)
    queries = connector.jobu_queries
    async with connector.connection() as conn:
        await queries.create_migrations_table(conn)
        applied = {dict(row)["version"] async for row in queries.applied_migrations(conn)}
    newly_applied = []
    for path in files:
        if path.name in applied:
            continue
        async with connector.connection() as conn:
            await connector.execute_script(conn, path.read_text())
            now = connector.encode_time(utcnow())
            await queries.record_migration(conn, version=path.name, now=now)
        newly_applied.append(path.name)
    return newly_applied
