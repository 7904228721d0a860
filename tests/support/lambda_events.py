"""What Lambda hands a function, for the benchmarks that call the real entry points: the context
object, SQS events shaped as the SQS event source mapping builds them, and the admin API's
HTTP API event of one page of runs."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parents[2] / "events"


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


def admin_jobs_page_event() -> dict[str, Any]:
    """GET /api/jobs?size=20 as API Gateway's HTTP API hands it to the admin API (IAM-signed)."""
    event: dict[str, Any] = json.loads((EVENTS / "admin_api_create_cron.json").read_text())
    event.update(rawPath="/api/jobs", rawQueryString="size=20", queryStringParameters={"size": "20"})
    event["pathParameters"] = {"proxy": "api/jobs"}
    event["requestContext"]["http"].update(method="GET", path="/api/jobs")
    event["headers"] = {
        k: v for k, v in event["headers"].items() if k not in ("content-length", "content-type")
    }
    event.pop("body")
    return event
