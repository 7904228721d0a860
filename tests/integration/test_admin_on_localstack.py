"""The admin function with its queues in LocalStack: each pool's dead-letter queue's depth, peek and
redrive (SQS StartMessageMoveTask, which moto does not implement), every pool's queues at once, and
schemathesis against the function's own OpenAPI document.

LocalStack is started by scripts/localstack.sh if it is not up (a LocalStack that cannot start
fails the tests); each test names its queues uniquely.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from jobu import constants
from jobu.event_dispatch import dispatch_event
from jobu.handler_manifest import manifest_pools
from jobu.models import ExecutionStatus, NewExecution
from jobu.operations import cron_jobs
from jobu.pools import DEFAULT_POOL, pool_variable
from jobu.specs import CronJobSpec
from jobu.store import open_store
from jobu.work_queue import WorkQueue
from jobu_local.commands.cli import main as jobu_main
from tests.conftest import WORKER_TIMEOUTS
from tests.integration.test_admin_api import end_run, event_run, kafka_event
from tests.support import admin_client
from tests.support.admin_client import AdminClient, wsgi_app
from tests.support.function_environment import function_environment
from tests.support.harness import run
from tests.support.principals import TEST_ACTOR

pytestmark = pytest.mark.localstack


@dataclass
class Stack:
    sqs: Any
    work_queue: str
    dead_letters: str
    database_url: str
    admin: AdminClient
    # every pool's (work queue, dead-letter queue); the default pool's are the two above
    pools: dict[str, tuple[str, str]]


@pytest.fixture
def stack(localstack_endpoint: str, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """For each pool a work queue that dead-letters after one receive and its DLQ, and the admin
    function on them."""
    for name, value in {
        "AWS_ENDPOINT_URL": localstack_endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }.items():
        monkeypatch.setenv(name, value)
    sqs = boto3.client("sqs")
    prefix = f"admin-{uuid.uuid4().hex[:8]}"
    pools = {pool: queue_pair(sqs, f"{prefix}-{pool}") for pool in manifest_pools()}
    work_queue, dead_letters = pools[DEFAULT_POOL]
    for name, value in function_environment(
        function="AdminApiFunction",
        JOBU_DATABASE_URL=sqlite_url,
        **{pool_variable(constants.WORK_QUEUE_URL, pool): urls[0] for pool, urls in pools.items()},
        **{pool_variable(constants.DEAD_LETTER_QUEUE_URL, pool): urls[1] for pool, urls in pools.items()},
    ).items():
        monkeypatch.setenv(name, value)

    async def migrate() -> None:
        store = await open_store(sqlite_url)
        await store.migrate()
        await store.close()

    run(migrate())
    admin_client.reset()
    yield Stack(sqs, work_queue, dead_letters, sqlite_url, AdminClient(), pools)
    admin_client.reset()
    for urls in pools.values():
        for url in urls:
            sqs.delete_queue(QueueUrl=url)


def queue_pair(sqs: Any, prefix: str) -> tuple[str, str]:
    """A work queue that dead-letters after one receive, and its dead-letter queue."""
    dead_letters = sqs.create_queue(QueueName=f"{prefix}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dead_letters, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"})
    work_queue = sqs.create_queue(QueueName=f"{prefix}-work", Attributes={"RedrivePolicy": redrive})[
        "QueueUrl"
    ]
    return work_queue, dead_letters


def dead_letter(stack: Stack, bodies: list[str], pool: str = DEFAULT_POOL) -> None:
    """Messages that fail their delivery: received once, never deleted, so the next receive moves
    them to the pool's dead-letter queue (maxReceiveCount 1), as SQS does with a crashed worker's."""
    work_queue, dead_letters = stack.pools[pool]
    for body in bodies:
        stack.sqs.send_message(QueueUrl=work_queue, MessageBody=body)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        stack.sqs.receive_message(QueueUrl=work_queue, MaxNumberOfMessages=10, VisibilityTimeout=0)
        if depth(stack.sqs, dead_letters) == len(bodies):
            return
    pytest.fail("the messages did not reach the dead-letter queue")


def depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def test_dead_letters_depth_peek_and_redrive_back_to_the_work_queue(stack: Stack) -> None:
    async def insert_run() -> int:
        store = await open_store(stack.database_url)
        new = NewExecution(
            job_id=None,
            handler_name="sample",
            params={},
            param_source="event",
            max_retry=0,
            timeout_seconds=60,
            source_topic="jobu-events",
            source_partition=0,
            source_offset=1,
        )
        (created,) = await store.runs.insert_events([new], now=datetime.now(UTC))
        await store.close()
        return created.id

    run_id = run(insert_run())
    dead_letter(stack, [json.dumps({"execution_id": run_id, "attempt": 0}), "not a work message"])
    admin = stack.admin

    assert admin.get("/api/dead-letters").json == {"visible": 2, "in_flight": 0, "delayed": 0}
    peeked = admin.get("/api/dead-letters/messages", query={"max": 10}).json
    by_run = {letter["execution_id"]: letter for letter in peeked}
    assert set(by_run) == {run_id, None}
    assert (by_run[run_id]["attempt"], by_run[run_id]["run_status"]) == (0, "PENDING")
    assert by_run[None]["body"] == "not a work message"
    assert admin.get("/api/dead-letters").json["visible"] == 2  # a look leaves them there

    started = admin.post("/api/dead-letters/redrive", body={"max_per_second": 50})
    assert started.status == 202, started.body
    assert started.json["status"] in {"RUNNING", "COMPLETED"}
    deadline = time.monotonic() + 30
    while depth(stack.sqs, stack.work_queue) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (depth(stack.sqs, stack.work_queue), depth(stack.sqs, stack.dead_letters)) == (2, 0)
    tasks = admin.get("/api/dead-letters/redrives").json
    assert tasks[0]["status"] in {"RUNNING", "COMPLETED"}


def test_each_pools_dead_letters_are_its_own_and_every_pools_queues_are_listed(stack: Stack) -> None:
    dead_letter(stack, [json.dumps({"execution_id": 7, "attempt": 1})], pool="pipeline")
    stack.sqs.send_message(
        QueueUrl=stack.work_queue, MessageBody=json.dumps({"execution_id": 8, "attempt": 0})
    )
    admin = stack.admin

    pools = {pool["name"]: pool for pool in admin.get("/api/pools").json}
    assert list(pools) == ["default", "pipeline"]
    assert pools["default"]["work_queue"]["visible"] == 1
    assert pools["default"]["dead_letters"]["visible"] == 0
    assert pools["pipeline"]["dead_letters"]["visible"] == 1
    assert "sample" in pools["default"]["handlers"]
    assert set(pools["pipeline"]["handlers"]) == {
        "db_loader",
        "pandas_preprocess",
        "pipeline_fanout",
        "pipeline_join",
        "pydantic_validator",
    }
    assert (pools["default"]["worker_timeout_seconds"], pools["pipeline"]["worker_timeout_seconds"]) == (
        600,
        900,
    )

    assert admin.get("/api/dead-letters").json["visible"] == 0
    assert admin.get("/api/dead-letters", query={"pool": "pipeline"}).json["visible"] == 1
    (letter,) = admin.get("/api/dead-letters/messages", query={"pool": "pipeline"}).json
    assert (letter["execution_id"], letter["attempt"]) == (7, 1)
    missing = admin.get("/api/dead-letters", query={"pool": "nope"})
    assert (missing.status, missing.json["error"]) == (404, "not_found")
    assert "no pool named 'nope'; pools: default, pipeline" in missing.json["detail"]

    started = admin.post("/api/dead-letters/redrive", query={"pool": "pipeline"}, body={"max_per_second": 50})
    assert started.status == 202, started.body
    pipeline_queue, pipeline_dead_letters = stack.pools["pipeline"]
    deadline = time.monotonic() + 30
    while depth(stack.sqs, pipeline_queue) < 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    # back to the pipeline's queue: the default pool's holds its own message only
    assert (depth(stack.sqs, pipeline_queue), depth(stack.sqs, pipeline_dead_letters)) == (1, 0)
    assert depth(stack.sqs, stack.work_queue) == 1


def test_the_cli_redrives_the_dead_letter_queue(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`jobu dlq` on a database, with the queues the environment names, in LocalStack."""
    monkeypatch.setenv("JOBU_LOCAL_STATE_DIR", str(tmp_path / "no-runtime"))
    dead_letter(stack, [json.dumps({"execution_id": 1, "attempt": 0})])

    def jobu(*argv: str) -> str:
        capsys.readouterr()
        assert jobu_main([*argv, "--database-url", stack.database_url]) == 0
        return capsys.readouterr().out

    assert jobu("dlq") == "dead-letter queue of pool default: 1 visible, 0 in flight, 0 delayed\n"
    assert jobu("dlq", "redrive", "--max-per-second", "50").startswith("redrive ")
    deadline = time.monotonic() + 30
    while depth(stack.sqs, stack.work_queue) < 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (depth(stack.sqs, stack.work_queue), depth(stack.sqs, stack.dead_letters)) == (1, 0)
    (task, *_) = json.loads(jobu("dlq", "redrives", "--json"))
    assert task["status"] in {"RUNNING", "COMPLETED"}


def test_the_cli_lists_the_pools_and_reads_a_pools_dead_letters(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`jobu pools` and `jobu dlq --pool` on a database, with every pool's queues the environment
    names (the admin function's)."""
    monkeypatch.setenv("JOBU_LOCAL_STATE_DIR", str(tmp_path / "no-runtime"))
    dead_letter(stack, [json.dumps({"execution_id": 3, "attempt": 0})], pool="pipeline")

    def jobu(*argv: str) -> str:
        capsys.readouterr()
        assert jobu_main([*argv, "--database-url", stack.database_url]) == 0
        return capsys.readouterr().out

    listed = {pool["name"]: pool for pool in json.loads(jobu("pools", "--json"))}
    assert (listed["default"]["dead_letters"]["visible"], listed["pipeline"]["dead_letters"]["visible"]) == (
        0,
        1,
    )
    table = jobu("pools")
    assert "pandas_preprocess" in table
    assert "dead letters" in table
    assert jobu("dlq") == "dead-letter queue of pool default: 0 visible, 0 in flight, 0 delayed\n"
    assert jobu("dlq", "--pool", "pipeline") == (
        "dead-letter queue of pool pipeline: 1 visible, 0 in flight, 0 delayed\n"
    )
    (letter,) = json.loads(jobu("dlq", "peek", "--pool", "pipeline", "--json"))
    assert letter["execution_id"] == 3
    assert jobu("dlq", "redrive", "--pool", "pipeline").endswith(
        "back to pool pipeline's work queue (see `jobu dlq redrives --pool pipeline`)\n"
    )


# --- schemathesis ---------------------------------------------------------------------------------

# Loaded through the adapter, so the document tested is the one the function serves.
SCHEMA = schemathesis.openapi.from_wsgi("/openapi.json", wsgi_app)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture
def seeded(stack: Stack) -> Stack:
    """Rows for the ids schemathesis tries first (1, 2, ...): a cron job, a FAILED and a PENDING run,
    and a rejected record, so the operations also answer from real rows, not only 404."""

    async def seed() -> None:
        store = await open_store(stack.database_url)
        spec = CronJobSpec(name="seeded", cron_expression="*/5 * * * *", handler_name="sample")
        now = datetime.now(UTC)
        await cron_jobs.create(
            store, spec, known_handlers={"sample"}, worker_timeouts=WORKER_TIMEOUTS, now=now, actor=TEST_ACTOR
        )
        runs = [event_run(offset) for offset in (1, 2)]
        failed, _ = await store.runs.insert_events(runs, now=now)
        await end_run(store, failed.id, ExecutionStatus.FAILED, at=now)
        queue = WorkQueue(sqs_client=stack.sqs, queue_urls={p: urls[0] for p, urls in stack.pools.items()})
        await dispatch_event(
            store, queue, kafka_event(3, {"handler_name": "nope"}), known_handlers={"sample"}, now=now
        )
        await store.close()

    run(seed())
    return stack


@SCHEMA.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_every_operation_answers_as_its_schema_says(case: schemathesis.Case, seeded: Stack) -> None:
    case.call_and_validate(checks=CHECKS)
