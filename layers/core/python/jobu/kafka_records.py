"""The records of an MSK or self-managed Kafka event, read without trusting any field.

AWS documents the event as {"eventSource", "records": {"<topic>-<partition>": [record, ...]}},
each record {"topic", "partition", "offset", "timestamp", "timestampType", "key", "value",
"headers"} with key and value base64-encoded, and value null for a tombstone. Powertools'
KafkaEvent and KafkaRecordModel read that shape, but lazily or leniently (a partition "0" becomes
0, a missing field fails the whole event); here every record is checked on its own, strictly, so
one broken record becomes one rejection and never an exception for the batch.

A record is keyed for idempotency by `topic:partition:offset` when those are valid, else by a
digest of the whole record: either way a redelivery finds what the first delivery wrote.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from jobu.documents import FieldError, strict_int, strict_str
from jobu.traces import from_kafka_headers

# Kafka's own limits: topic names are at most 249 of these characters; partitions are int32.
TOPIC_PATTERN = r"^[A-Za-z0-9._-]+$"
MAX_PARTITION = 2**31 - 1
MAX_OFFSET = 2**63 - 1

RawEncoding = Literal["utf-8", "base64", "none"]


@dataclass(frozen=True)
class RecordEnvelope:
    """The fields jobu reads from a record, strictly typed (JSON numbers, not strings)."""

    topic: str
    partition: int
    offset: int
    value: str | None = None

    @classmethod
    def parse(cls, item: Mapping[str, Any]) -> RecordEnvelope:
        """FieldError names the first field that is missing or wrong; other keys are ignored."""
        topic = strict_str(item, "topic", min_length=1, max_length=249, pattern=TOPIC_PATTERN)
        partition = strict_int(item, "partition", ge=0, le=MAX_PARTITION)
        offset = strict_int(item, "offset", ge=0, le=MAX_OFFSET)
        value = strict_str(item, "value", min_length=0, max_length=2**63, default=None)
        assert topic is not None
        assert partition is not None
        assert offset is not None
        return cls(topic, partition, offset, value)


@dataclass(frozen=True)
class Coordinates:
    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"


@dataclass(frozen=True)
class StoredRaw:
    """A record's raw bytes as the job store keeps them: text where that is faithful."""

    text: str
    encoding: RawEncoding

    @classmethod
    def of(cls, raw: bytes | None) -> StoredRaw:
        if raw is None:
            return cls("", "none")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return cls(base64.b64encode(raw).decode("ascii"), "base64")
        if "\x00" in text:  # valid UTF-8 that PostgreSQL's text type still refuses
            return cls(base64.b64encode(raw).decode("ascii"), "base64")
        return cls(text, "utf-8")


@dataclass(frozen=True)
class KafkaRecord:
    """A record whose envelope is sound; `value` is None for a tombstone."""

    coordinates: Coordinates
    value: bytes | None
    # the producer's W3C traceparent header, when it sent a valid one (jobu.traces)
    trace_parent: str | None = None

    @property
    def key(self) -> str:
        return str(self.coordinates)


@dataclass(frozen=True)
class BrokenRecord:
    """A record (or a part of the event) that cannot be read as a record, and why."""

    key: str
    coordinates: Coordinates | None
    raw: StoredRaw
    reason: str


def _serialized(item: Any) -> bytes | None:
    try:
        text = json.dumps(item, sort_keys=True, separators=(",", ":"), default=repr)
    except (RecursionError, ValueError):  # nested deeper than the encoder goes, or circular
        return None
    return text.encode("utf-8", "surrogatepass")


def _broken(item: Any, position: str, reason: str) -> BrokenRecord:
    """A record that is not a record, kept as the JSON text it arrived as.

    Keyed by a digest of that text, so a redelivery is recognised; something too deep to
    serialize again is keyed by its place in the event instead.
    """
    serialized = _serialized(item)
    if serialized is None:
        key = "sha256:" + hashlib.sha256(f"unserializable:{position}".encode()).hexdigest()
        return BrokenRecord(key, None, StoredRaw("", "none"), f"{reason} (too deeply nested to keep)")
    key = "sha256:" + hashlib.sha256(serialized).hexdigest()
    return BrokenRecord(key, None, StoredRaw.of(serialized), reason)


def _describe(error: FieldError) -> str:
    if error.missing:
        return f"record envelope: {error.field} is missing"
    return f"record envelope: {error.field}: {error.message}"


def read_record(item: Any, position: str = "record") -> KafkaRecord | BrokenRecord:
    if not isinstance(item, Mapping):
        return _broken(item, position, f"record must be a JSON object, not {type(item).__name__}")
    try:
        envelope = RecordEnvelope.parse(item)
    except FieldError as error:
        return _broken(item, position, _describe(error))
    coordinates = Coordinates(envelope.topic, envelope.partition, envelope.offset)
    trace = from_kafka_headers(item.get("headers"))
    trace_parent = None if trace is None else str(trace)
    if envelope.value is None:
        return KafkaRecord(coordinates, None, trace_parent)
    try:
        value = base64.b64decode(envelope.value, validate=True)
    except (binascii.Error, ValueError):
        raw = StoredRaw.of(envelope.value.encode("utf-8", "surrogatepass"))
        return BrokenRecord(str(coordinates), coordinates, raw, "value is not valid base64")
    return KafkaRecord(coordinates, value, trace_parent)


def read_event(event: Any) -> Iterator[KafkaRecord | BrokenRecord]:
    """Every record of the event, in order; what is not a record comes out as a BrokenRecord."""
    groups = event.get("records") if isinstance(event, Mapping) else None
    if not isinstance(groups, Mapping):
        yield _broken(event, "event", "not a Kafka event: no records map")
        return
    for group, items in groups.items():
        if not isinstance(items, list):
            reason = f"records[{group!r}] must be a list of records, not {type(items).__name__}"
            yield _broken({group: items}, f"records[{group!r}]", reason)
            continue
        for index, item in enumerate(items):
            yield read_record(item, f"records[{group!r}][{index}]")
