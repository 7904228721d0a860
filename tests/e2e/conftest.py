"""End-to-end fixtures: the local runtime (tools/jobu_local) driving the functions from template.yaml.

Each test gets its own runtime with its own moto server, Tansu broker, state folder and database,
all stopped at the end of the test.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from jobu.handler_manifest import known_handler_names
from jobu.models import Execution
from jobu.operations.cron_jobs import create as create_cron_job
from jobu.operations.cron_jobs import parse_spec
from jobu.store import open_store
from jobu_local.runtime.runtime import LocalRuntime, RuntimeOptions
from tests.conftest import WORKER_TIMEOUTS
from tests.support.principals import TEST_ACTOR

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = REPO_ROOT / "template.yaml"
TOPIC = "jobu-events"
CONSUMER_GROUP = "jobu-queue-dispatcher"

StartRuntime = Callable[..., Awaitable[LocalRuntime]]


async def wait_for(
    predicate: Callable[[], Awaitable[Any]],
    *,
    within: float = 30.0,
    interval: float = 0.1,
    what: str = "condition",
) -> Any:
    """Poll `predicate` until it returns something truthy; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {within:.0f} s waiting for {what} (last value: {value!r})")
        await asyncio.sleep(interval)


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
async def start_runtime(state_dir: Path) -> AsyncIterator[StartRuntime]:
    """Start a runtime (embedded moto and Tansu unless told otherwise, its HTTP API and dashboard on
    free ports); stopped after the test."""
    started: list[LocalRuntime] = []

    async def start(database_url: str, **options: Any) -> LocalRuntime:
        runtime = LocalRuntime(
            RuntimeOptions(
                template_path=TEMPLATE,
                state_dir=state_dir,
                database_url=database_url,
                schedule=False,
                **({"http_port": 0, "dashboard_port": 0} | options),
            )
        )
        started.append(runtime)
        await runtime.start()
        return runtime

    yield start
    for runtime in started:
        await runtime.stop()


async def add_due_cron_job(database_url: str, name: str = "e2e-every-minute") -> int:
    """A cron job whose first slot (this minute) is due at the next tick."""
    store = await open_store(database_url)
    try:
        await store.migrate()
        job = await create_cron_job(
            store,
            parse_spec(
                {
                    "name": name,
                    "cron_expression": "* * * * *",
                    "handler_name": "sample",
                    "handler_params": {"name": "from cron"},
                }
            ),
            known_handlers=known_handler_names(),
            worker_timeouts=WORKER_TIMEOUTS,
            now=datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(seconds=1),
            actor=TEST_ACTOR,
        )
    finally:
        await store.close()
    return job.id


async def list_runs(database_url: str) -> list[Execution]:
    store = await open_store(database_url)
    try:
        return sorted(await store.runs.list_recent(limit=100), key=lambda run: run.id)
    finally:
        await store.close()


async def runs_succeeded(database_url: str, count: int, *, within: float = 30.0) -> list[Execution]:
    """The runs, by id, once there are `count` and every one has succeeded."""

    async def all_succeeded() -> list[Execution]:
        runs = await list_runs(database_url)
        return runs if len(runs) == count and all(run.status.value == "SUCCESS" for run in runs) else []

    succeeded: list[Execution] = await wait_for(all_succeeded, within=within, what=f"{count} runs to succeed")
    return succeeded


def job_message(**params: Any) -> bytes:
    return json.dumps({"handler_name": "sample", "params": params, "job_id": None}).encode()


async def committed_offsets(bootstrap_servers: str, group: str = CONSUMER_GROUP) -> dict[int, int]:
    """{partition: committed offset} of the consumer group on the topic (nothing committed: {}).

    Read with a manually assigned consumer of the same group id: OffsetFetch needs no group
    membership, so the runtime's own consumer is not rebalanced by it.
    """
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(TOPIC, number) for number in sorted(consumer.partitions_for_topic(TOPIC) or ())
        ]
        consumer.assign(partitions)
        offsets = {tp.partition: await consumer.committed(tp) for tp in partitions}
    finally:
        await consumer.stop()
    return {partition: offset for partition, offset in offsets.items() if offset is not None and offset >= 0}
