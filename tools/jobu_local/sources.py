"""The parts AWS plays between the outside world and the functions: scheduler, Kafka and SQS mappings.

Each source reads its settings from template.yaml and invokes a FunctionProcess. Like Lambda's
event source mappings, they are at-least-once: the Kafka source commits offsets only after the
function returned successfully (a failed batch is retried, with backoff, as a whole); the SQS source
deletes only the messages the function did not report in `batchItemFailures`, and leaves the others
to the queue (they reappear after the visibility timeout; the queue's RedrivePolicy moves them to
the DLQ after maxReceiveCount receives).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from jobu_local.events import KafkaRecord, kafka_event, scheduler_event, sqs_event
from jobu_local.function_process import Invocation
from jobu_local.template import KafkaSource, ScheduleSource, SqsSource

log = logging.getLogger("jobu_local")
_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
SQS_MAX_RECEIVE = 10
SQS_POLL_SECONDS = 1  # short long-polls keep Ctrl-C prompt; SQS allows up to 20
KAFKA_RETRY_BASE_SECONDS = 0.5
KAFKA_RETRY_MAX_SECONDS = 30.0


class Invoker(Protocol):
    async def invoke(self, event: dict[str, Any]) -> Invocation: ...


Observer = Callable[[str, Invocation], None]
FailureSink = Callable[[dict[str, Any], Invocation, int], Awaitable[None]]


def _quiet(_source: str, _invocation: Invocation) -> None:
    return None


def rate_seconds(expression: str) -> float:
    """Seconds between ticks of an EventBridge `rate(...)` expression."""
    match = _RATE.match(expression.strip())
    if match is None:
        raise ValueError(f"only rate(...) schedule expressions run locally, not {expression!r}")
    count, unit = int(match.group(1)), match.group(2).rstrip("s")
    return float(count * _UNIT_SECONDS[unit])


# --- EventBridge Scheduler ---------------------------------------------------------------------------


@dataclass
class ScheduleRunner:
    source: ScheduleSource
    function: Invoker
    region: str
    account_id: str
    interval_seconds: float | None = None  # None: the template's rate
    observe: Observer = _quiet

    @property
    def schedule_arn(self) -> str:
        return (
            f"arn:aws:scheduler:{self.region}:{self.account_id}:schedule/default/{self.source.schedule_name}"
        )

    async def tick(self, when: datetime | None = None) -> Invocation:
        scheduled = (when or datetime.now(UTC)).replace(microsecond=0)
        event = scheduler_event(
            schedule_arn=self.schedule_arn,
            scheduled_time=scheduled,
            region=self.region,
            account_id=self.account_id,
            input_template=self.source.input,
        )
        invocation = await self.function.invoke(event)
        self.observe(f"schedule {self.source.name}", invocation)
        return invocation

    async def run(self) -> None:
        interval = self.interval_seconds or rate_seconds(self.source.expression)
        next_tick = time.time() + interval
        while True:
            await asyncio.sleep(max(0.0, next_tick - time.time()))
            await self.tick(datetime.fromtimestamp(next_tick, UTC))
            next_tick += interval
            # a tick missed while the function ran long is skipped, as Scheduler does with no retries
            while next_tick < time.time():
                next_tick += interval


# --- Kafka (MSK / self-managed) event source mapping -------------------------------------------------


@dataclass
class KafkaRunner:
    source: KafkaSource
    function: Invoker
    bootstrap_servers: str
    observe: Observer = _quiet
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    retry_base_seconds: float = KAFKA_RETRY_BASE_SECONDS
    on_failure: FailureSink | None = None
    batches: int = 0
    attempts: list[list[tuple[int, int]]] = field(default_factory=list)  # (partition, offset)s per invoke

    async def run(self) -> None:
        from aiokafka import AIOKafkaConsumer

        consumer = AIOKafkaConsumer(
            *self.source.topics,
            bootstrap_servers=self.bootstrap_servers,
            group_id=self.source.consumer_group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest" if self.source.starting_position == "TRIM_HORIZON" else "latest",
            max_poll_records=self.source.batch_size,
        )
        await consumer.start()
        try:
            await self._wait_for_assignment(consumer)
            self.ready.set()
            while True:
                records = await self._collect(consumer)
                if records:
                    await self._deliver(consumer, records)
        finally:
            await consumer.stop()

    async def _wait_for_assignment(self, consumer: Any) -> None:
        # Resolve positions now, so that a record produced after `ready` is never missed (LATEST).
        while not consumer.assignment():  # noqa: ASYNC110 (aiokafka offers no event for it)
            await asyncio.sleep(0.05)
        for partition in consumer.assignment():
            await consumer.position(partition)

    async def _collect(self, consumer: Any) -> list[Any]:
        """Up to BatchSize records, waiting at most MaximumBatchingWindowInSeconds after the first."""
        size, window = self.source.batch_size, self.source.batching_window_seconds
        records: list[Any] = []
        deadline: float | None = None
        while len(records) < size:
            remaining = 1.0 if deadline is None else deadline - time.monotonic()
            if remaining <= 0:
                break
            fetched = await consumer.getmany(
                timeout_ms=int(remaining * 1000), max_records=size - len(records)
            )
            for partition_records in fetched.values():
                records.extend(partition_records)
            if not records:
                continue
            if deadline is None:
                deadline = time.monotonic() + window
        return records

    async def _deliver(self, consumer: Any, records: list[Any]) -> None:
        """Invoke until the batch succeeds (or its retries are spent); only then commit its offsets."""
        await self._invoke(
            sorted(records, key=lambda record: (record.topic, record.partition, record.offset))
        )
        await consumer.commit(_next_offsets(records))
        self.batches += 1

    def _event(self, records: list[Any]) -> dict[str, Any]:
        return kafka_event(
            (_record(record) for record in records),
            bootstrap_servers=self.bootstrap_servers,
            cluster_arn=self.source.cluster_arn if self.source.kind == "MSK" else None,
        )

    async def _invoke(self, records: list[Any]) -> None:
        """BisectBatchOnFunctionError halves a failing batch first; single batches retry with backoff."""
        event = self._event(records)
        attempt = 0
        while True:
            self.attempts.append([(record.partition, record.offset) for record in records])
            invocation = await self.function.invoke(event)
            self.observe(f"kafka {self.source.name}", invocation)
            if invocation.ok:
                return
            if self.source.bisect_on_error and len(records) > 1:
                half = len(records) // 2
                await self._invoke(records[:half])
                await self._invoke(records[half:])
                return
            attempt += 1
            limit = self.source.maximum_retry_attempts
            if limit is not None and 0 <= limit < attempt:
                log.warning(
                    "kafka %s: %d record(s) failed after %d retries", self.source.name, len(records), limit
                )
                if self.on_failure is not None:
                    await self.on_failure(event, invocation, attempt)
                return
            await asyncio.sleep(min(KAFKA_RETRY_MAX_SECONDS, self.retry_base_seconds * 2 ** (attempt - 1)))


def _record(record: Any) -> KafkaRecord:
    return KafkaRecord(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        timestamp_ms=record.timestamp,
        timestamp_type="LOG_APPEND_TIME" if record.timestamp_type == 1 else "CREATE_TIME",
        key=record.key,
        value=record.value,
        headers=tuple(record.headers or ()),
    )


def _next_offsets(records: list[Any]) -> dict[Any, int]:
    from aiokafka import TopicPartition

    offsets: dict[Any, int] = {}
    for record in records:
        partition = TopicPartition(record.topic, record.partition)
        offsets[partition] = max(offsets.get(partition, 0), record.offset + 1)
    return offsets


# --- SQS event source mapping ------------------------------------------------------------------------


class BatchResponseError(ValueError):
    """The function's batchItemFailures response is malformed: Lambda then fails the whole batch."""


def failed_message_ids(result: Any, message_ids: set[str]) -> set[str]:
    """The ids the function reported as failed (ReportBatchItemFailures), as Lambda reads them."""
    if result is None:
        return set()
    if not isinstance(result, dict):
        raise BatchResponseError(f"response is not an object: {result!r}")
    failures = result.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        raise BatchResponseError("batchItemFailures is not a list")
    ids: set[str] = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not identifier or identifier not in message_ids:
            raise BatchResponseError(f"batchItemFailures names an unknown or empty itemIdentifier: {item!r}")
        ids.add(identifier)
    return ids


@dataclass
class SqsRunner:
    source: SqsSource
    function: Invoker
    sqs: Any
    queue_url: str
    queue_arn: str
    region: str
    observe: Observer = _quiet
    batches: int = 0
    polls: int = 0  # receive calls completed (tests wait on it)

    async def run(self) -> None:
        while True:
            messages = await self._collect()
            if messages:
                await self._deliver(messages)

    async def _receive(self, count: int, wait_seconds: int) -> list[dict[str, Any]]:
        response = await asyncio.to_thread(
            self.sqs.receive_message,
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(SQS_MAX_RECEIVE, count),
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        self.polls += 1
        return messages

    async def _collect(self) -> list[dict[str, Any]]:
        size, window = self.source.batch_size, self.source.batching_window_seconds
        messages = await self._receive(size, SQS_POLL_SECONDS)
        if not messages or window <= 0:
            return messages
        deadline = time.monotonic() + window
        while len(messages) < size and (remaining := deadline - time.monotonic()) > 0:
            more = await self._receive(size - len(messages), min(SQS_POLL_SECONDS, int(remaining)))
            messages.extend(more)
        return messages

    async def _deliver(self, messages: list[dict[str, Any]]) -> None:
        event = sqs_event(messages, queue_arn=self.queue_arn, region=self.region)
        invocation = await self.function.invoke(event)
        self.observe(f"sqs {self.source.name}", invocation)
        self.batches += 1
        if not invocation.ok:
            return  # the whole batch reappears after the visibility timeout
        ids = {message["MessageId"] for message in messages}
        failed: set[str] = set()
        if self.source.report_batch_item_failures:
            try:
                failed = failed_message_ids(invocation.result, ids)
            except BatchResponseError as error:
                log.warning("sqs %s: %s; the whole batch is retried", self.source.name, error)
                return
        done = [message for message in messages if message["MessageId"] not in failed]
        for start in range(0, len(done), SQS_MAX_RECEIVE):
            chunk = done[start : start + SQS_MAX_RECEIVE]
            entries = [
                {"Id": str(index), "ReceiptHandle": m["ReceiptHandle"]} for index, m in enumerate(chunk)
            ]
            await asyncio.to_thread(self.sqs.delete_message_batch, QueueUrl=self.queue_url, Entries=entries)


async def cancel_all(tasks: list[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
