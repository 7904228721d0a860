"""Integration fixtures: the same tests on the three real backends, and a Lambda harness."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import boto3
import pytest

from jobu.store import JobStore, open_store
from tests.conftest import data_access_environ
from tests.support import admin_client
from tests.support.admin_client import AdminClient
from tests.support.function_environment import function_environment
from tests.support.harness import REQUEUE_GRACE, REQUEUE_STUCK_AFTER, Harness, reset_containers, run

BACKENDS = ["sqlite", "postgres", "mysql"]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    """An empty database on each backend in turn (real PostgreSQL and MariaDB servers)."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[JobStore]:
    opened = await open_store(database_url)
    await opened.migrate()
    yield opened
    await opened.close()


@pytest.fixture
def harness(
    database_url: str, aws_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Harness]:
    """The three entry points wired to moto SQS and a migrated database of the current backend;
    the pipeline may touch tmp_path/data, the test buckets and the sales table (tests.conftest)."""
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="jobu-work", Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
    dead_letter_url = sqs.create_queue(QueueName="jobu-work-dlq")["QueueUrl"]
    environment = function_environment(
        JOBU_DATABASE_URL=database_url,
        JOBU_WORK_QUEUE_URL=queue_url,
        JOBU_DEAD_LETTER_QUEUE_URL=dead_letter_url,
        JOBU_REQUEUE_GRACE_SECONDS=str(int(REQUEUE_GRACE.total_seconds())),
        JOBU_REQUEUE_STUCK_SECONDS=str(int(REQUEUE_STUCK_AFTER.total_seconds())),
        JOBU_RUN_RETENTION_DAYS="0",  # the tests' runs are dated in the past
        JOBU_DATABASE_POOL_SIZE="4",
        **data_access_environ(tmp_path / "data"),
    )
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    async def migrate() -> None:
        migrating = await open_store(database_url)
        await migrating.migrate()
        await migrating.close()

    run(migrate())
    reset_containers()
    yield Harness(database_url=database_url, sqs=sqs, queue_url=queue_url, dead_letter_url=dead_letter_url)
    reset_containers()


@pytest.fixture
def admin(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> Iterator[AdminClient]:
    """The admin function on the harness's database and work queue, with a dead-letter queue."""
    dead_letters = harness.sqs.create_queue(QueueName="jobu-work-dlq")["QueueUrl"]
    monkeypatch.setenv("JOBU_DEAD_LETTER_QUEUE_URL", dead_letters)
    monkeypatch.setenv("JOBU_WORKER_TIMEOUT_SECONDS", "900")
    admin_client.reset()
    yield AdminClient()
    admin_client.reset()
