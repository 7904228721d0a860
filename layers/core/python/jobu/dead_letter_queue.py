"""A pool's dead-letter queue, by URL: where the pool's worker keeps a message it can never
process, and what the admin operations (jobu.operations.dead_letters) read and redrive.

Messages land there after WorkQueueMaxReceiveCount deliveries whose worker invocation crashed or
timed out, or at once when the worker finds a body it can never parse (`keep`, with the reason in
the `jobu_reason` attribute).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from jobu.errors import QueueError
from jobu.observability import DEAD_LETTERED, count, logger

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

REASON_ATTRIBUTE = "jobu_reason"
SOURCE_MESSAGE_ATTRIBUTE = "jobu_source_message_id"


class SqsQueue:
    """A queue by URL, over a boto3 SQS client (its calls run in a worker thread); a failed call
    is a QueueError that says which queue."""

    def __init__(self, *, sqs_client: SQSClient, queue_url: str, kind: str = "queue") -> None:
        self._sqs = sqs_client
        self.queue_url = queue_url
        self.kind = kind

    async def call(self, operation: str, **kwargs: Any) -> Any:
        try:
            return await asyncio.to_thread(getattr(self._sqs, operation), **kwargs)
        except Exception as error:  # botocore's ClientError, or the endpoint unreachable
            raise QueueError(f"SQS {operation} on the {self.kind} failed: {_why(error)}") from error


class DeadLetterQueue(SqsQueue):
    """A pool's dead-letter queue."""

    def __init__(self, *, sqs_client: SQSClient, queue_url: str, kind: str = "dead-letter queue") -> None:
        super().__init__(sqs_client=sqs_client, queue_url=queue_url, kind=kind)

    async def keep(self, body: str, *, reason: str, message_id: str) -> None:
        """Put a work message the worker can never process here, unchanged, with why and whence."""
        attributes: Any = {
            REASON_ATTRIBUTE: {"DataType": "String", "StringValue": reason[:1000]},
            SOURCE_MESSAGE_ATTRIBUTE: {"DataType": "String", "StringValue": message_id},
        }
        await self.call(
            "send_message", QueueUrl=self.queue_url, MessageBody=body, MessageAttributes=attributes
        )
        count(DEAD_LETTERED)
        logger.error(
            "work message can never be processed: kept in the dead-letter queue",
            extra={"message_id": message_id, "reason": reason},
        )

    async def arn(self) -> str:
        response = await self.call(
            "get_queue_attributes", QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
        )
        return str(response["Attributes"]["QueueArn"])


def _why(error: Exception) -> str:
    """botocore's error as SQS said it, in one line; an answer that is no SQS error (an endpoint
    without the action answers an HTML page) is said to be one, never quoted."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return " ".join(f"{type(error).__name__}: {error}".split())
    found = response.get("Error", {})
    code, message = str(found.get("Code", "")), str(found.get("Message", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if not message or message.lstrip().startswith("<"):
        return f"the endpoint answered HTTP {status} without an SQS error: does it implement this action?"
    return " ".join(f"{code}: {message}".split())
