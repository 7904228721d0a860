"""The events AWS hands to the functions, built as Lambda builds them.

- EventBridge Scheduler → Lambda: the target's Input, with the context attributes
  (`<aws.scheduler.scheduled-time>`, ...) filled in; with no Input, the EventBridge
  "Scheduled Event" envelope (source `aws.scheduler`).
- Kafka event source mapping: records grouped by "topic-partition", key and value base64-encoded,
  header values as lists of byte values; `aws:kafka` (MSK) or `SelfManagedKafka`.
- SQS event source mapping: `Records` with the message's attributes as Lambda passes them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

SCHEDULER_CONTEXT_ATTRIBUTES = (
    "<aws.scheduler.schedule-arn>",
    "<aws.scheduler.scheduled-time>",
    "<aws.scheduler.execution-id>",
    "<aws.scheduler.attempt-number>",
)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def scheduler_event(
    *, schedule_arn: str, scheduled_time: datetime, region: str, account_id: str, input_template: str | None
) -> Any:
    """What EventBridge Scheduler delivers to a Lambda target for one scheduled time."""
    execution_id = str(uuid.uuid4())
    if input_template is not None:
        text = input_template
        for name, value in zip(
            SCHEDULER_CONTEXT_ATTRIBUTES,
            (schedule_arn, _iso(scheduled_time), execution_id, "0"),
            strict=True,
        ):
            text = text.replace(name, value)
        return json.loads(text)
    return {
        "version": "0",
        "id": execution_id,
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": account_id,
        "time": _iso(scheduled_time),
        "region": region,
        "resources": [schedule_arn],
        "detail": {},
    }


@dataclass(frozen=True)
class KafkaRecord:
    """One consumed record, independent of the Kafka client library."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    timestamp_type: str
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]] = ()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def kafka_record_json(record: KafkaRecord) -> dict[str, Any]:
    shaped: dict[str, Any] = {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp": record.timestamp_ms,
        "timestampType": record.timestamp_type,
        "value": _b64(record.value or b""),
        "headers": [{name: list(value)} for name, value in record.headers],
    }
    if record.key is not None:
        shaped["key"] = _b64(record.key)
    return shaped


def kafka_event(
    records: Iterable[KafkaRecord], *, bootstrap_servers: str, cluster_arn: str | None
) -> dict[str, Any]:
    """An MSK event (`cluster_arn` given) or a self-managed Kafka event (no ARN)."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        grouped.setdefault(f"{record.topic}-{record.partition}", []).append(kafka_record_json(record))
    event: dict[str, Any] = {"bootstrapServers": bootstrap_servers, "records": grouped}
    if cluster_arn is not None:
        return {"eventSource": "aws:kafka", "eventSourceArn": cluster_arn, **event}
    return {"eventSource": "SelfManagedKafka", **event}


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
        "binaryListValues": [_b64(item) for item in value.get("BinaryListValues", [])],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        shaped["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        shaped["binaryValue"] = _b64(value["BinaryValue"])
    return shaped


def sqs_event(messages: Iterable[Mapping[str, Any]], *, queue_arn: str, region: str) -> dict[str, Any]:
    return {"Records": [sqs_record(message, queue_arn=queue_arn, region=region) for message in messages]}
