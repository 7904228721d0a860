"""The Kafka event source mapping's events, as Lambda builds them: records grouped by
"topic-partition", key and value base64-encoded, header values as lists of byte values;
`aws:kafka` (MSK) or `SelfManagedKafka`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from jobu_local.aws.source import b64


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


def kafka_record_json(record: KafkaRecord) -> dict[str, Any]:
    shaped: dict[str, Any] = {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp": record.timestamp_ms,
        "timestampType": record.timestamp_type,
        # a tombstone (no value) arrives as null, as Lambda delivers it
        "value": None if record.value is None else b64(record.value),
        "headers": [{name: list(value)} for name, value in record.headers],
    }
    if record.key is not None:
        shaped["key"] = b64(record.key)
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
