"""What Lambda hands a function, for the benchmarks that call the real entry points: the context
object and SQS events shaped as the SQS event source mapping builds them."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any


class Context:
    """What Powertools and jobu read from Lambda's context object."""

    memory_limit_in_mb = 512

    def __init__(self, function_name: str = "jobu-bench", remaining_ms: int = 30_000) -> None:
        self.function_name = function_name
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self._remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self._remaining_ms


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """An SQS event for messages as ReceiveMessage returns them (MessageId, ReceiptHandle, Body)."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(m["Body"].encode()).hexdigest(),  # SQS's own checksum
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }
