"""The SQS event source mapping: long-polls the queue and invokes the function with batches.

Like Lambda's, it deletes only the messages the function did not report in `batchItemFailures`
and leaves the others to the queue: they reappear after the visibility timeout, and the queue's
RedrivePolicy moves them to the DLQ after maxReceiveCount receives.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jobu_local.aws.source import Invoker, Observer, b64, log, quiet
from jobu_local.template.reader import SqsSource

SQS_MAX_RECEIVE = 10
SQS_POLL_SECONDS = 1  # short long-polls keep Ctrl-C prompt; SQS allows up to 20


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
    observe: Observer = quiet
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
