"""queue_one under contention: a worker ends a job's active run while a tick, on another connection,
is committing the job's WAITING run. The worker's end and the promotion share one transaction
under the job row's lock, so the WAITING run starts when the tick commits, not a sweeper later."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from jobu.operations import cron_jobs
from jobu.specs import CronJobSpec
from jobu.store import JobStore
from tests.conftest import WORKER_TIMEOUTS
from tests.support.contention import rows_held, sql_time
from tests.support.harness import Harness, work_message
from tests.support.principals import TEST_ACTOR

MINUTE = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)


@pytest.fixture(params=["postgres", "mysql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Row locks are what this is about: the two servers that have them."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


def test_a_run_that_ends_while_a_tick_commits_the_waiting_run_promotes_it(harness: Harness) -> None:
    async def create(store: JobStore) -> Any:
        spec = {"name": "one-at-a-time", "cron_expression": "* * * * *", "handler_name": "sample"}
        return await cron_jobs.create(
            store,
            CronJobSpec.model_validate({**spec, "overlap_policy": "queue_one"}),
            known_handlers={"sample"},
            worker_timeouts=WORKER_TIMEOUTS,
            now=MINUTE - timedelta(seconds=30),
            actor=TEST_ACTOR,
        )

    job = harness.with_store(create)
    harness.tick(MINUTE)
    (active,) = harness.executions()
    backend = "mysql" if harness.database_url.startswith("mysql") else "postgres"

    async def race() -> dict[str, Any]:
        # the next minute's tick, on a connection of its own: it holds the job's row and has
        # written the WAITING run (the active one is PENDING), not yet committed
        async with rows_held(harness.database_url, [job.id]) as execute:
            slot = sql_time(backend, MINUTE + timedelta(minutes=1))
            await execute(
                "INSERT INTO job_executions (job_id, handler_name, scheduled_time, status, params,"
                " param_source, max_retry, timeout_seconds, available_at, created_at)"
                f" VALUES ({job.id}, 'sample', {slot}, 'WAITING', '{{}}', 'cron', 0, 60, {slot}, {slot})"
            )
            # meanwhile the worker runs the active run and ends it
            worker = asyncio.create_task(asyncio.to_thread(harness.invoke_worker, [work_message(active.id)]))
            await asyncio.sleep(1.5)
        return await worker

    response = asyncio.run(race())
    assert response["batchItemFailures"] == []
    runs = sorted((r for r in harness.executions() if r.job_id == job.id), key=lambda r: r.id)
    assert [r.status.value for r in runs] == ["SUCCESS", "PENDING"]
    assert runs[1].queued_at is not None  # and its message sent, by that worker
