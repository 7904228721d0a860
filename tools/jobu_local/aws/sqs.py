"""The SQS event source mapping: long-polls the queue and invokes the function with batches, with
as many pollers at once as the backlog needs, up to the mapping's maximum concurrency.

Like Lambda's, it deletes only the messages the function did not report in `batchItemFailures`
and leaves the others to the queue: they reappear after the visibility timeout, and the queue's
RedrivePolicy moves them to the DLQ after maxReceiveCount receives.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from jobu_local.aws.source import Invoker, Observer, b64, log, quiet
from jobu_local.errors import JobuToolError
from jobu_local.template.reader import SqsSource

SQS_MAX_RECEIVE = 10
SQS_POLL_SECONDS = 1  # short long-polls keep Ctrl-C prompt; SQS allows up to 20
# Lambda's scaling for standard queues (AWS docs, "Configuring scaling behavior for SQS event source
# mappings"): five concurrent invocations when messages arrive, up to 300 more a minute while they
# keep coming, back to five once the queue is drained.
LAMBDA_START_CONCURRENCY = 5
LAMBDA_SCALE_PER_SECOND = 300 / 60


# ScalingConfig.MaximumConcurrency takes 2 to 1,000; without it the mapping scales to the function's.
SQS_MINIMUM_CONCURRENCY = 2
SQS_MAXIMUM_CONCURRENCY = 1000


def sqs_concurrency(source: SqsSource, function_limit: int) -> int:
    """The SQS mapping's most invocations at once: its MaximumConcurrency (within 2 to 1,000), never
    more than the function may run."""
    configured = source.maximum_concurrency
    if configured is None:
        return function_limit
    return min(max(SQS_MINIMUM_CONCURRENCY, min(configured, SQS_MAXIMUM_CONCURRENCY)), function_limit)


def sqs_record(message: Mapping[str, Any], *, queue_arn: str, region: str) -> dict[str, Any]:
    """One SQS message (from receive_message with all attributes) as a Lambda SQS record."""
    body: str = message["Body"]
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(body.encode()).hexdigest(),
        **(
            {"md5OfMessageAttributes": message["MD5OfMessageAttributes"]}
            if "MD5OfMessageAttributes" in message
            else {}
        ),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def _message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    shaped: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": [b64(item) for item in value.get("BinaryListValues", [])],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        shaped["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        shaped["binaryValue"] = b64(value["BinaryValue"])
    return shaped


def sqs_event(messages: Iterable[Mapping[str, Any]], *, queue_arn: str, region: str) -> dict[str, Any]:
    return {"Records": [sqs_record(message, queue_arn=queue_arn, region=region) for message in messages]}


class BatchResponseError(JobuToolError, ValueError):
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
class ConcurrencyRamp:
    """The invocations an SQS mapping may have in flight now: Lambda's start of five and its climb
    while messages keep coming, never over the mapping's maximum concurrency."""

    maximum: int
    clock: Callable[[], float] = time.monotonic
    _busy_since: float | None = None

    def busy(self) -> None:
        """Messages are available: the climb starts (or goes on)."""
        if self._busy_since is None:
            self._busy_since = self.clock()

    def idle(self) -> None:
        """The queue is drained and nothing is in flight: back to the start."""
        self._busy_since = None

    def seconds_to_next_step(self) -> float | None:
        """When the limit next grows by one; None when only an invocation that ends makes room."""
        climbed = self._climbed()
        if self._busy_since is None or self._limit(climbed) >= self.maximum:
            return None
        return (int(climbed) + 1 - climbed) / LAMBDA_SCALE_PER_SECOND

    def limit(self) -> int:
        return self._limit(self._climbed())

    def _climbed(self) -> float:
        """Steps climbed since messages became available (0 while idle)."""
        return (
            0.0 if self._busy_since is None else (self.clock() - self._busy_since) * LAMBDA_SCALE_PER_SECOND
        )

    def _limit(self, climbed: float) -> int:
        return min(self.maximum, LAMBDA_START_CONCURRENCY + int(climbed))


@dataclass
class SqsRunner:
    """Pollers that scale with the backlog, as Lambda's: one to start, one more for each full receive
    while invocations could still start, and a poller that finds the queue empty stops unless it is
    the last. Each receive takes up to 10 messages; they are invoked in batches of BatchSize, with as
    many invocations in flight as Lambda would have by then (ConcurrencyRamp: five, climbing while
    messages keep coming, up to `concurrency`, the mapping's MaximumConcurrency), and the messages
    of successful batches are deleted together (DeleteMessageBatch, up to 10 entries a call)."""

    source: SqsSource
    function: Invoker
    sqs: Any
    queue_url: str
    queue_arn: str
    region: str
    observe: Observer = quiet
    concurrency: int = 1  # the most invocations in flight
    # boto3 calls block: each poller needs a thread of its own (the default pool has cores + 4)
    executor: Executor | None = None
    batches: int = 0
    polls: int = 0  # receive calls completed (tests wait on it)
    pollers_peak: int = 0
    _pollers: set[asyncio.Task[None]] = field(default_factory=set)
    _deliveries: set[asyncio.Task[None]] = field(default_factory=set)
    _ramp: ConcurrencyRamp = field(init=False)
    _in_flight: int = 0
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)  # an invocation ended
    _failed: asyncio.Future[None] | None = None
    _to_delete: list[dict[str, Any]] = field(default_factory=list)
    _deleting: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        self._ramp = ConcurrencyRamp(self.concurrency)

    async def run(self) -> None:
        self._failed = asyncio.get_running_loop().create_future()
        self._spawn()
        try:
            await self._failed
        finally:
            tasks = [*self._pollers, *self._deliveries]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _track(self, task: asyncio.Task[None], tasks: set[asyncio.Task[None]]) -> None:
        tasks.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            tasks.discard(finished)
            error = None if finished.cancelled() else finished.exception()
            if error is not None and self._failed is not None and not self._failed.done():
                self._failed.set_exception(error)

        task.add_done_callback(done)

    def _spawn(self) -> None:
        self._track(asyncio.create_task(self._poll()), self._pollers)
        self.pollers_peak = max(self.pollers_peak, len(self._pollers))

    async def _poll(self) -> None:
        while True:
            messages = await self._collect()
            if not messages:
                if len(self._pollers) > 1:
                    # the backlog is gone: one poller fewer (leaving the set now, so that two pollers
                    # that find the queue empty together never both stop)
                    task = asyncio.current_task()
                    if task is not None:
                        self._pollers.discard(task)
                    return
                if self._in_flight == 0:
                    self._ramp.idle()
                continue
            self._ramp.busy()
            full = len(messages) >= min(SQS_MAX_RECEIVE, self.source.batch_size)
            if full and len(self._pollers) < self.concurrency and self._in_flight < self._ramp.limit():
                self._spawn()  # a backlog, and room to invoke: one poller more
            size = self.source.batch_size
            for start in range(0, len(messages), size):
                await self._room()
                self._track(
                    asyncio.create_task(self._deliver(messages[start : start + size])), self._deliveries
                )

    async def _room(self) -> None:
        """Until one more invocation may start: one in flight ends, or the ramp climbs a step."""
        async with self._changed:
            while self._in_flight >= self._ramp.limit():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._ramp.seconds_to_next_step()):
                        await self._changed.wait()
            self._in_flight += 1

    async def _call(self, function: Callable[..., Any], **arguments: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(function, **arguments))

    async def _receive(self, count: int, wait_seconds: int) -> list[dict[str, Any]]:
        response = await self._call(
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
        """One receive of up to 10 messages; for a BatchSize over 10, more within the batching window."""
        size, window = self.source.batch_size, self.source.batching_window_seconds
        messages = await self._receive(max(size, SQS_MAX_RECEIVE), SQS_POLL_SECONDS)
        if not messages or window <= 0:
            return messages
        deadline = time.monotonic() + window
        while len(messages) < size and (remaining := deadline - time.monotonic()) > 0:
            more = await self._receive(size - len(messages), min(SQS_POLL_SECONDS, int(remaining)))
            messages.extend(more)
        return messages

    async def _deliver(self, messages: list[dict[str, Any]]) -> None:
        try:
            done = await self._invoke(messages)
        finally:
            async with self._changed:
                self._in_flight -= 1
                self._changed.notify()
        if done:
            await self._delete(done)

    async def _invoke(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The messages to delete: the batch's, less those the function reported as failed."""
        event = sqs_event(messages, queue_arn=self.queue_arn, region=self.region)
        invocation = await self.function.invoke(event)
        self.observe(f"sqs {self.source.name}", invocation)
        self.batches += 1
        if not invocation.ok:
            return []  # the whole batch reappears after the visibility timeout
        failed: set[str] = set()
        if self.source.report_batch_item_failures:
            try:
                failed = failed_message_ids(invocation.result, {message["MessageId"] for message in messages})
            except BatchResponseError as error:
                log.warning("sqs %s: %s; the whole batch is retried", self.source.name, error)
                return []
        return [message for message in messages if message["MessageId"] not in failed]

    async def _delete(self, messages: list[dict[str, Any]]) -> None:
        """Deletes of batches that end together share DeleteMessageBatch calls."""
        self._to_delete.extend(messages)
        if self._deleting is None or self._deleting.done():
            self._deleting = asyncio.create_task(self._delete_pending())
        await asyncio.shield(self._deleting)

    async def _delete_pending(self) -> None:
        await asyncio.sleep(0)  # let the batches that finish now join
        while self._to_delete:
            chunk, self._to_delete = self._to_delete[:SQS_MAX_RECEIVE], self._to_delete[SQS_MAX_RECEIVE:]
            entries = [
                {"Id": str(index), "ReceiptHandle": m["ReceiptHandle"]} for index, m in enumerate(chunk)
            ]
            await self._call(self.sqs.delete_message_batch, QueueUrl=self.queue_url, Entries=entries)
