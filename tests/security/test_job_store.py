"""Attack 1: one Kafka record running db_loader against the job store's own tables.

Before issue 9, `{"table": "cron_jobs", "mode": "replace"}` replaced every operator cron job
with the attacker's. Now the run fails at once (no retries, whatever the cron job's max_retry)
with a refusal naming the table, and the job store is unchanged. On every backend.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jobu.handler_manifest import known_handler_names
from jobu.operations.cron_jobs import create as create_cron_job
from jobu.specs import CronJobSpec
from jobu.store import JobStore
from tests.conftest import WORKER_TIMEOUTS
from tests.integration.test_pipeline_chain import sql
from tests.security.conftest import data_root, only_run, produce
from tests.support.harness import Harness
from tests.support.principals import TEST_ACTOR


def add_job(
    harness: Harness, name: str, handler_name: str, params: dict[str, Any], max_retry: int = 3
) -> int:
    async def create(store: JobStore) -> int:
        spec = CronJobSpec(
            name=name,
            cron_expression="0 3 * * *",
            handler_name=handler_name,
            handler_params=params,
            max_retry=max_retry,
        )
        job = await create_cron_job(
            store,
            spec,
            known_handlers=known_handler_names(),
            worker_timeouts=WORKER_TIMEOUTS,
            now=_now(),
            actor=TEST_ACTOR,
        )
        return job.id

    return harness.with_store(create)


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def cron_jobs(harness: Harness) -> list[dict[str, Any]]:
    return [dataclasses.asdict(job) for job in harness.cron_jobs()]


def attacker_file(harness: Harness) -> str:
    """A Parquet file shaped like cron_jobs rows, under the data root (what an attacker may name)."""
    path = data_root(harness) / "evil.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = {"name": ["pwned"], "cron_expression": ["* * * * *"], "handler_name": ["db_loader"]}
    pq.write_table(pa.table(rows), path)
    return path.name


@pytest.mark.parametrize(
    "table",
    ["cron_jobs", "CRON_JOBS", "public.cron_jobs", "job_executions", "schema_migrations", "sample_items"],
)
def test_db_loader_cannot_rewrite_the_job_store(harness: Harness, table: str) -> None:
    job_id = add_job(harness, "nightly-load", "db_loader", {"input_path": "sales.parquet", "table": "sales"})
    before = cron_jobs(harness)

    # the record names the operator's job: the job's params are the base, the event's win
    produce(
        harness,
        "db_loader",
        {"input_path": attacker_file(harness), "table": table, "mode": "replace"},
        job_id,
    )

    run = only_run(harness)
    assert (run.status, run.retry_count, run.job_id) == ("FAILED", 0, job_id)
    assert f"table refused: {table!r} is one of the job store's own tables" in (run.error_message or "")
    assert run.error_message.startswith("AccessDeniedError")  # type: ignore[union-attr]
    assert cron_jobs(harness) == before
    assert harness.drain_queue() == 0  # no retry was queued, though the job allows three


def test_tables_outside_the_allow_list_are_refused(harness: Harness) -> None:
    """A table of the job store's database that the operator did not list stays untouched."""

    async def create_payroll(store: JobStore) -> None:
        async with store.connector.connection() as conn:
            statement = "CREATE TABLE payroll (name VARCHAR(20))"
            if store.backend == "postgres":
                await conn.execute(statement)
                await conn.execute("INSERT INTO payroll VALUES ('alice')")
            elif store.backend == "mysql":
                async with conn.cursor() as cursor:
                    await cursor.execute(statement)
                    await cursor.execute("INSERT INTO payroll VALUES ('alice')")
            else:
                await conn.execute(statement)
                await conn.execute("INSERT INTO payroll VALUES ('alice')")

    harness.with_store(create_payroll)

    produce(
        harness, "db_loader", {"input_path": attacker_file(harness), "table": "payroll", "mode": "replace"}
    )

    run = only_run(harness)
    assert (run.status, run.retry_count) == ("FAILED", 0)
    message = run.error_message or ""
    assert "table refused: 'payroll' on database 'jobstore' is not in JOBU_LOAD_TABLES" in message
    assert sql(harness, "SELECT name FROM payroll") == [("alice",)]


def test_the_allowed_table_still_loads(harness: Harness, tmp_path: Path) -> None:
    """The control: the refusals above are the allow-list at work, not a loader that fails."""

    async def create_sales(store: JobStore) -> None:
        async with store.connector.connection() as conn:
            statement = "CREATE TABLE sales (name VARCHAR(20))"
            if store.backend == "mysql":
                async with conn.cursor() as cursor:
                    await cursor.execute(statement + " ENGINE=InnoDB")
            else:
                await conn.execute(statement)

    harness.with_store(create_sales)
    path = data_root(harness) / "sales.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"name": ["bob", "carol"]}), path)

    produce(harness, "db_loader", {"input_path": "sales.parquet", "table": "sales"})

    run = only_run(harness)
    assert (run.status, run.result["rows_loaded"]) == ("SUCCESS", 2)
