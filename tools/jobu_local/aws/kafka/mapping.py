"""The Kafka (MSK / self-managed) event source mapping: an aiokafka consumer in the mapping's group.

Like Lambda's, it is at-least-once: offsets are committed only after the function returned
successfully (a failed batch is retried, with backoff, as a whole, or bisected), and a batch past
MaximumRetryAttempts goes to the OnFailure destination before it is committed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from jobu_local.aws.kafka.events import KafkaRecord, kafka_event
from jobu_local.aws.source import Invoker, Observer, log, quiet
from jobu_local.host.config import Invocation
from jobu_local.template.reader import KafkaSource

KAFKA_RETRY_BASE_SECONDS = 0.5
KAFKA_RETRY_MAX_SECONDS = 30.0
FailureSink = Callable[[dict[str, Any], Invocation, int], Awaitable[None]]


@dataclass
class KafkaRunner:
    source: KafkaSource
    function: Invoker
    bootstrap_servers: str
    observe: Observer = quiet
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


def failure_record(
    event: dict[str, Any], invocation: Invocation, attempts: int, function_arn: str
) -> dict[str, Any]:
    """What Lambda writes to an on-failure destination for a Kafka batch that exhausted its retries."""
    return {
        "version": "1.0",
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "requestContext": {
            "requestId": invocation.request_id,
            "functionArn": function_arn,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": attempts,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "payload": event,
    }
