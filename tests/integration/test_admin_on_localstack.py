"""The admin function with its queues in LocalStack: the dead-letter queue's depth, peek and redrive
(SQS StartMessageMoveTask, which moto does not implement), and schemathesis against the function's
own OpenAPI document.

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

from jobu.event_dispatch import dispatch_event
from jobu.models import CronJobSpec, ExecutionStatus, NewExecution
from jobu.operations import cron_jobs
from jobu.store import open_store
from jobu.work_queue import WorkQueue
from jobu_local.commands.cli import main as jobu_main
from tests.integration.test_admin_api import end_run, event_run, kafka_event
from tests.support import admin_client
from tests.support.admin_client import AdminClient, wsgi_app
from tests.support.function_environment import function_environment
from tests.support.harness import run

pytestmark = pytest.mark.localstack


@dataclass
class Stack:
    sqs: Any
    work_queue: str
    dead_letters: str
    database_url: str
    admin: AdminClient


@pytest.fixture
def stack(localstack_endpoint: str, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """A work queue that dead-letters after one receive, its DLQ, and the admin function on them."""
    for name, value in {
        "AWS_ENDPOINT_URL": localstack_endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }.items():
        monkeypatch.setenv(name, value)
    sqs = boto3.client("sqs")
    prefix = f"admin-{uuid.uuid4().hex[:8]}"
    dead_letters = sqs.create_queue(QueueName=f"{prefix}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dead_letters, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"})
    work_queue = sqs.create_queue(QueueName=f"{prefix}-work", Attributes={"RedrivePolicy": redrive})[
        "QueueUrl"
    ]
    for name, value in function_environment(
        JOBU_DATABASE_URL=sqlite_url, JOBU_WORK_QUEUE_URL=work_queue, JOBU_DEAD_LETTER_QUEUE_URL=dead_letters
    ).items():
        monkeypatch.setenv(name, value)

    async def migrate() -> None:
        store = await open_store(sqlite_url)
        await store.migrate()
        await store.close()

    run(migrate())
    admin_client.reset()
    yield Stack(sqs, work_queue, dead_letters, sqlite_url, AdminClient())
    admin_client.reset()
    for url in (work_queue, dead_letters):
        sqs.delete_queue(QueueUrl=url)


def dead_letter(stack: Stack, bodies: list[str]) -> None:
    """Messages that fail their delivery: received once, never deleted, so the next receive moves
    them to the dead-letter queue (maxReceiveCount 1), as SQS does with a crashed worker's."""
    for body in bodies:
        stack.sqs.send_message(QueueUrl=stack.work_queue, MessageBody=body)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        stack.sqs.receive_message(QueueUrl=stack.work_queue, MaxNumberOfMessages=10, VisibilityTimeout=0)
        if depth(stack.sqs, stack.dead_letters) == len(bodies):
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

    assert jobu("dlq") == "dead-letter queue: 1 visible, 0 in flight, 0 delayed\n"
    assert jobu("dlq", "redrive", "--max-per-second", "50").startswith("redrive ")
    deadline = time.monotonic() + 30
    while depth(stack.sqs, stack.work_queue) < 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (depth(stack.sqs, stack.work_queue), depth(stack.sqs, stack.dead_letters)) == (1, 0)
    (task, *_) = json.loads(jobu("dlq", "redrives", "--json"))
    assert task["status"] in {"RUNNING", "COMPLETED"}


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
        await cron_jobs.create(store, spec, known_handlers={"sample"}, worker_timeout_seconds=900, now=now)
        runs = [event_run(offset) for offset in (1, 2)]
        failed, _ = await store.runs.insert_events(runs, now=now)
        await end_run(store, failed.id, ExecutionStatus.FAILED, at=now)
        queue = WorkQueue(sqs_client=stack.sqs, queue_url=stack.work_queue)
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
