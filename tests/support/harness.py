"""Drives the three real entry points the way AWS does, on moto SQS and a real database.

The worker is fed by `drain_queue()`, which plays the SQS event source mapping: receive a batch,
invoke, delete what the response did not list in batchItemFailures.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any, TypeVar

import time_machine

from functions.cron_dispatcher import app as cron_app
from functions.queue_dispatcher import app as queue_app
from functions.worker import app as worker_app
from jobu.event_dispatch import EVENT_DEFAULT_TIMEOUT_SECONDS
from jobu.models import CronJob, Execution, NewExecution
from jobu.store import JobStore, open_store

T = TypeVar("T")
# the sweeper's timing the harness configures (the template's own values)
REQUEUE_GRACE = timedelta(seconds=60)
REQUEUE_STUCK_AFTER = timedelta(minutes=15)
APPS: tuple[ModuleType, ...] = (cron_app, queue_app, worker_app)


@dataclass
class FakeLambdaContext:
    """What Powertools and the worker read from Lambda's context object."""

    function_name: str = "jobu-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:jobu-test"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    remaining_ms: int = 900_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def run[T](coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


@dataclass
class Harness:
    database_url: str
    sqs: Any
    queue_url: str
    dead_letter_url: str
    _offset: int = 0

    def invoke_cron(self, event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = cron_app.handler(event, FakeLambdaContext(function_name="cron"))
        return result

    def tick(self, at: datetime) -> dict[str, Any]:
        """The scheduler's tick for `at`, delivered at `at` (the dispatcher checks one against the other)."""
        with time_machine.travel(at, tick=False):
            return self.invoke_cron({"scheduled_time": at.isoformat()})

    def invoke_queue(self, event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = queue_app.handler(event, FakeLambdaContext(function_name="queue"))
        return result

    def invoke_worker(self, messages: list[dict[str, Any]], remaining_ms: int = 900_000) -> dict[str, Any]:
        event = {"Records": [sqs_record(m) for m in messages]}
        result: dict[str, Any] = worker_app.handler(
            event, FakeLambdaContext("worker", remaining_ms=remaining_ms)
        )
        return result

    def receive(self, max_messages: int = 10) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=max_messages, AttributeNames=["All"]
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        return messages

    def drain_queue(self, *, rounds: int = 20) -> int:
        """Run the worker on everything visible in the queue; returns how many messages it saw."""
        seen = 0
        for _ in range(rounds):
            messages = self.receive()
            if not messages:
                return seen
            seen += len(messages)
            failed = {f["itemIdentifier"] for f in self.invoke_worker(messages)["batchItemFailures"]}
            for message in messages:
                if message["MessageId"] not in failed:
                    self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return seen

    def with_store(self, use: Callable[[JobStore], Coroutine[Any, Any, T]]) -> T:
        async def go() -> T:
            store = await open_store(self.database_url)
            try:
                return await use(store)
            finally:
                await store.close()

        return run(go())

    def insert_event_run(self, handler_name: str, params: dict[str, Any], *, max_retry: int = 0) -> int:
        """An event run written as the queue dispatcher writes one (not queued); returns its id."""
        self._offset += 1
        new = NewExecution(
            job_id=None,
            handler_name=handler_name,
            params=params,
            param_source="event",
            max_retry=max_retry,
            timeout_seconds=EVENT_DEFAULT_TIMEOUT_SECONDS,
            source_topic="jobu-events",
            source_partition=0,
            source_offset=self._offset,
        )

        async def insert(store: JobStore) -> int:
            (created,) = await store.runs.insert_events([new], now=datetime.now(UTC))
            return created.id

        return self.with_store(insert)

    def executions(self) -> list[Execution]:
        return sorted(self.with_store(lambda s: s.runs.list_recent(limit=10_000)), key=lambda e: e.id)

    def cron_jobs(self) -> list[CronJob]:
        return self.with_store(lambda s: s.cron_jobs.page(is_enabled=None, limit=10_000, offset=0))


def sqs_record(message: dict[str, Any]) -> dict[str, Any]:
    """An SQS event record (the shape Lambda's SQS event source delivers) for a received message."""
    body = message["Body"]
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message.get("ReceiptHandle", "handle"),
        "body": body,
        "attributes": message.get("Attributes", {"ApproximateReceiveCount": "1"}),
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:jobu-work",
        "awsRegion": "us-east-1",
    }


def kafka_record(
    offset: int, value: bytes | str | None, *, partition: int = 0, topic: str = "jobu-events"
) -> dict[str, Any]:
    """One record as the Kafka event source mapping delivers it (value base64, null for a tombstone)."""
    raw = value.encode() if isinstance(value, str) else value
    return {
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "timestamp": 1795341600000 + offset,
        "timestampType": "CREATE_TIME",
        "key": None,
        "value": None if raw is None else base64.b64encode(raw).decode(),
        "headers": [],
    }


def msk_event(*records: dict[str, Any]) -> dict[str, Any]:
    """An MSK event (the shape AWS documents), records grouped by topic-partition in the given order."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for item in records:
        grouped.setdefault(f"{item.get('topic')}-{item.get('partition')}", []).append(item)
    return {
        "eventSource": "aws:kafka",
        "eventSourceArn": "arn:aws:kafka:us-east-1:123456789012:cluster/jobu/751d2973-a626-431c-9d4e-d7975",
        "bootstrapServers": "b-1.jobu.kafka.us-east-1.amazonaws.com:9098",
        "records": grouped,
    }


def job_message(handler_name: str = "sample", **params: Any) -> str:
    return json.dumps({"handler_name": handler_name, "params": params, "job_id": None})


def work_message(execution_id: int, attempt: int = 0) -> dict[str, Any]:
    return {
        "MessageId": str(uuid.uuid4()),
        "Body": json.dumps({"execution_id": execution_id, "attempt": attempt}),
    }


def reset_containers() -> None:
    for app in APPS:
        app.container.reset()
