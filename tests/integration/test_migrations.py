"""Schema upgrades keep the rows a deployed store already holds, on every backend."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jobu.store import JobStore, open_store
from jobu.store.migrations import default_schema_dir

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def schema_up_to(tmp_path: Path, backend: str, last: str) -> Path:
    """A schema folder holding the migrations of `backend` up to and including `last`."""
    target = tmp_path / "schema" / backend
    target.mkdir(parents=True)
    for path in sorted((default_schema_dir() / backend).glob("*.sql")):
        if path.name.split("_", 1)[0] <= last:
            shutil.copy(path, target / path.name)
    return target.parent


async def seed_version_002(store: JobStore) -> None:
    """Rows as a store at migration 002 holds them: a job, a run with a child run, a rejected record."""
    t = store.connector.encode_time
    async with store.connector.connection() as conn:
        for sql, params in [
            (
                "INSERT INTO cron_jobs (name, description, cron_expression, handler_name, handler_params, "
                "is_enabled, allow_overlap, max_retry, timeout_seconds, next_run_at, created_at, updated_at) "
                "VALUES (:n, '', '* * * * *', 'sample', '{}', TRUE, TRUE, 1, 60, :t, :t, :t)",
                {"n": "nightly", "t": t(T0)},
            ),
            (
                "INSERT INTO job_executions (job_id, handler_name, scheduled_time, status, params, "
                "param_source, max_retry, timeout_seconds, available_at, created_at) "
                "VALUES (1, 'sample', :t, 'SUCCESS', '{\"a\": 1}', 'cron', 1, 60, :t, :t)",
                {"t": t(T0)},
            ),
            (
                "INSERT INTO job_executions (handler_name, status, params, param_source, max_retry, "
                "timeout_seconds, available_at, parent_execution_id, created_at) "
                "VALUES ('sample', 'FAILED', '{}', 'event', 0, 60, :t, 1, :t)",
                {"t": t(T0)},
            ),
            (
                "INSERT INTO rejected_events (source_topic, source_partition, source_offset, raw_value, "
                "reason, created_at) VALUES ('jobu-events', 2, 7, 'not json', 'value is not JSON', :t)",
                {"t": t(T0)},
            ),
        ]:
            await _execute(store, conn, sql, params)


async def _execute(store: JobStore, conn: object, sql: str, params: dict[str, object]) -> None:
    # test-only literal SQL: bound the way each driver binds
    if store.backend == "postgres":
        names = list(params)
        for index, name in enumerate(names, start=1):
            sql = sql.replace(f":{name}", f"${index}")
        await conn.execute(sql, *params.values())  # type: ignore[attr-defined]
    elif store.backend == "mysql":
        for name in params:
            sql = sql.replace(f":{name}", f"%({name})s")
        async with conn.cursor() as cursor:  # type: ignore[attr-defined]
            await cursor.execute(sql, params)
    else:
        await conn.execute(sql, params)  # type: ignore[attr-defined]


async def test_upgrade_from_002_keeps_rows_and_widens_statuses(database_url: str, tmp_path: Path) -> None:
    store = await open_store(database_url)
    try:
        await store.migrate(schema_up_to(tmp_path, store.backend, "002"))
        await seed_version_002(store)
        applied = await store.migrate()
        assert applied[0] == "003_statuses_and_rejected_records.sql"

        parent, child = await store.runs.get(1), await store.runs.get(2)
        assert parent is not None
        assert child is not None
        assert (parent.status, parent.params, parent.job_id) == ("SUCCESS", {"a": 1}, 1)
        assert child.parent_execution_id == 1
        [rejected] = await store.rejected_records.list_recent()
        assert (rejected.record_key, rejected.raw_encoding) == ("jobu-events:2:7", "utf-8")
        assert rejected.raw_value == "not json"

        # what 003 is for: the new statuses and sources are accepted, anything else still is not
        async with store.connector.connection() as conn:
            await _execute(
                store,
                conn,
                "UPDATE job_executions SET status = 'CANCELLED', param_source = 'manual' WHERE id = 2",
                {},
            )
        updated = await store.runs.get(2)
        assert updated is not None
        assert (updated.status, updated.param_source) == ("CANCELLED", "manual")
        with pytest.raises(Exception, match=r"(?i)check|constraint"):
            async with store.connector.connection() as conn:
                await _execute(store, conn, "UPDATE job_executions SET status = 'BOGUS' WHERE id = 2", {})
    finally:
        await store.close()
