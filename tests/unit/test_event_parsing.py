"""Each kind of Kafka record (and event) the queue dispatcher must refuse, and the reason it gives."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from jobu.documents import MAX_PARAMS_BYTES
from jobu.event_dispatch import Accepted, Rejected, build_execution, parse_record
from jobu.kafka_records import BrokenRecord, KafkaRecord, read_event, read_record
from tests.conftest import load_event

KNOWN = frozenset({"sample", "sample1"})


def raw_record(value: bytes | str | None, **envelope: Any) -> dict[str, Any]:
    raw = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value
    return {
        "topic": "jobu-events",
        "partition": 3,
        "offset": 42,
        "timestamp": 0,
        "timestampType": "CREATE_TIME",
        "value": None if raw is None else base64.b64encode(raw).decode(),
        "headers": [],
        **envelope,
    }


def parse(value: bytes | str | None, **envelope: Any) -> Accepted | Rejected:
    return parse_record(read_record(raw_record(value, **envelope)), KNOWN)


def deeply_nested(levels: int) -> str:
    return '{"handler_name": "sample", "params": {"a": ' + "[" * levels + "]" * levels + "}}"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("{not json", "value is not JSON: "),
        ("[1, 2]", "value must be a JSON object, not list"),
        ('"just a string"', "value must be a JSON object, not str"),
        ('{"params": {}}', "handler_name is missing"),
        ('{"handler_name": ""}', "handler_name: String should have at least 1 character"),
        ('{"handler_name": "nope"}', "unknown handler 'nope'"),
        ('{"handler_name": "sample", "params": [1]}', "params must be a JSON object"),
        ('{"handler_name": "sample", "params": "x"}', "params must be a JSON object"),
        ('{"handler_name": "sample", "job_id": "seven"}', "job_id: Input should be a valid integer"),
        ('{"handler_name": "sample", "job_id": "7"}', "job_id: Input should be a valid integer"),
        ('{"handler_name": "sample", "job_id": 7.5}', "job_id: Input should be a valid integer"),
        ('{"handler_name": "sample", "job_id": true}', "job_id: Input should be a valid integer"),
        ('{"handler_name": "sample", "job_id": 99999999999999999999}', "job_id: Input should be less than"),
        ('{"handler_name": "sample", "job_id": 0}', "job_id: Input should be greater than or equal to 1"),
        (
            json.dumps({"handler_name": "sample", "params": {"b": "x" * MAX_PARAMS_BYTES}}),
            "params are 262152 bytes; the limit is 262144",
        ),
        ('{"handler_name": "sample", "params": {"a": "x\\u0000y"}}', "params.a contains a NUL character"),
        ('{"handler_name": "sample", "params": {"a\\u0000": 1}}', "a key in params contains a NUL character"),
        ('{"handler_name": "sample", "params": {"a": ["\\ud800"]}}', "params.a[0] contains a lone surrogate"),
        ('{"handler_name": "sample", "params": {"a": NaN}}', "value is not JSON: NaN is not a JSON number"),
        ('{"handler_name": "sample", "params": {"a": -Infinity}}', "value is not JSON: -Infinity is not"),
        ('{"handler_name": "sample", "params": {"a": 1e400}}', "params.a is inf, which is not a JSON number"),
        (deeply_nested(100), "params are nested deeper than 64 levels"),
        (deeply_nested(100_000), "value is nested too deeply"),
        ("{" * 3 + "\udc80", "value is not UTF-8 text"),
    ],
)
def test_bad_values_are_rejected_with_a_reason(value: str, reason: str) -> None:
    parsed = parse(value)
    assert isinstance(parsed, Rejected)
    assert parsed.reason.startswith(reason), parsed.reason
    row = parsed.row()
    assert (row["record_key"], row["source_topic"], row["source_partition"], row["source_offset"]) == (
        "jobu-events:3:42",
        "jobu-events",
        3,
        42,
    )
    # the raw bytes come back exactly, from text or from base64 as the row says
    raw = value.encode("utf-8", "surrogatepass")
    stored = (
        row["raw_value"].encode() if row["raw_encoding"] == "utf-8" else base64.b64decode(row["raw_value"])
    )
    assert stored == raw


def test_bytes_that_are_not_text_are_kept_as_base64() -> None:
    parsed = parse(b"\xff\xfe{")
    assert isinstance(parsed, Rejected)
    assert parsed.reason.startswith("value is not UTF-8 text")
    assert (parsed.raw.encoding, base64.b64decode(parsed.raw.text)) == ("base64", b"\xff\xfe{")


def test_a_nul_byte_in_the_value_is_kept_as_base64() -> None:
    parsed = parse(b'{"handler_name": "sample"\x00}')
    assert isinstance(parsed, Rejected)
    assert parsed.raw.encoding == "base64"
    assert base64.b64decode(parsed.raw.text) == b'{"handler_name": "sample"\x00}'


def test_a_tombstone_is_rejected_and_says_so() -> None:
    parsed = parse(None)
    assert isinstance(parsed, Rejected)
    assert (parsed.reason, parsed.raw.encoding, parsed.raw.text) == (
        "record has no value (a tombstone)",
        "none",
        "",
    )
    absent = raw_record(None)
    del absent["value"]
    assert parse_record(read_record(absent), KNOWN) == parsed


@pytest.mark.parametrize(
    ("envelope", "reason"),
    [
        ({"partition": "3"}, "record envelope: partition: Input should be a valid integer"),
        ({"partition": -1}, "record envelope: partition: Input should be greater than or equal to 0"),
        ({"partition": 2**31}, "record envelope: partition: Input should be less than or equal to"),
        ({"offset": 42.5}, "record envelope: offset: Input should be a valid integer"),
        ({"offset": 2**63}, "record envelope: offset: Input should be less than or equal to"),
        ({"offset": None}, "record envelope: offset: Input should be a valid integer"),
        ({"topic": 7}, "record envelope: topic: Input should be a valid string"),
        ({"topic": "a/b"}, "record envelope: topic: String should match pattern"),
        ({"topic": "t" * 250}, "record envelope: topic: String should have at most 249 characters"),
        ({"value": 12}, "record envelope: value: Input should be a valid string"),
    ],
)
def test_a_broken_envelope_is_rejected_and_keyed_by_a_digest(envelope: dict[str, Any], reason: str) -> None:
    item = {**raw_record('{"handler_name": "sample"}'), **envelope}
    read = read_record(item)
    assert isinstance(read, BrokenRecord)
    parsed = parse_record(read, KNOWN)
    assert isinstance(parsed, Rejected)
    assert parsed.reason.startswith(reason), parsed.reason
    row = parsed.row()
    assert row["record_key"].startswith("sha256:")
    assert (row["source_topic"], row["source_partition"], row["source_offset"]) == (None, None, None)
    assert json.loads(row["raw_value"]) == item  # the record as it arrived
    assert read_record(json.loads(json.dumps(item))) == read  # a redelivery gets the same key


@pytest.mark.parametrize("missing", ["topic", "partition", "offset"])
def test_a_missing_envelope_key_is_named(missing: str) -> None:
    item = raw_record('{"handler_name": "sample"}')
    del item[missing]
    parsed = parse_record(read_record(item), KNOWN)
    assert isinstance(parsed, Rejected)
    assert parsed.reason == f"record envelope: {missing} is missing"


def test_value_that_is_not_base64_keeps_its_text() -> None:
    parsed = parse_record(read_record({**raw_record(None), "value": "not base64!"}), KNOWN)
    assert isinstance(parsed, Rejected)
    assert (parsed.reason, parsed.raw.text, parsed.key) == (
        "value is not valid base64",
        "not base64!",
        "jobu-events:3:42",
    )


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({}, "not a Kafka event: no records map"),
        ({"records": []}, "not a Kafka event: no records map"),
        ("a string", "not a Kafka event: no records map"),
        (
            {"records": {"jobu-events-0": {"topic": "x"}}},
            "records['jobu-events-0'] must be a list of records",
        ),
        ({"records": {"jobu-events-0": [17]}}, "record must be a JSON object, not int"),
    ],
)
def test_what_is_not_a_record_is_still_accounted_for(event: Any, reason: str) -> None:
    [read] = list(read_event(event))
    assert isinstance(read, BrokenRecord)
    assert read.reason.startswith(reason)


def test_a_record_too_deep_to_serialize_is_keyed_by_its_place() -> None:
    deep: Any = "x"
    for _ in range(100_000):
        deep = [deep]
    event = {"records": {"jobu-events-0": [deep]}}
    [read] = list(read_event(event))
    assert isinstance(read, BrokenRecord)
    assert read.reason.endswith("(too deeply nested to keep)")
    assert [r.key for r in read_event(event)] == [read.key]


def test_a_good_record_becomes_an_event_run() -> None:
    parsed = parse('{"handler_name": "sample", "params": {"id": 1}, "job_id": null}')
    assert isinstance(parsed, Accepted)
    run = build_execution(parsed, base=None, now=datetime.now(UTC))
    assert (run.param_source, run.job_id, run.params, run.max_retry) == ("event", None, {"id": 1}, 0)
    assert (run.source_topic, run.source_partition, run.source_offset) == ("jobu-events", 3, 42)


def test_event_files_parse() -> None:
    records = [parse_record(r, KNOWN) for r in read_event(load_event("queue_dispatcher_msk.json"))]
    assert [type(r).__name__ for r in records] == ["Accepted", "Accepted", "Accepted"]
    bad = [parse_record(r, KNOWN) for r in read_event(load_event("queue_dispatcher_bad_records.json"))]
    assert [type(r).__name__ for r in bad] == ["Rejected"] * 4 + ["Accepted"]
    assert all(
        isinstance(r, KafkaRecord) for r in read_event(load_event("queue_dispatcher_self_managed.json"))
    )


def test_a_short_record_is_not_serialized_again_and_a_long_one_is_measured() -> None:
    from jobu.documents import storage_problem

    # the worst growth from text to json.dumps: a number (1e15: 4 bytes, 18 once written back),
    # characters outside ASCII (3 bytes of UTF-8, 6 as \uXXXX), escaped control characters
    for text in ('{"n": 1e15}', '{"s": "\u20ac\u20ac"}', '{"s": "\\u0001"}'):
        document = json.loads(text)
        written = len(json.dumps(document, separators=(",", ":")).encode())
        assert written <= 6 * len(text.encode())
    big = {"b": "é" * (MAX_PARAMS_BYTES // 4)}  # 2 bytes each in UTF-8, 6 once written back
    source = len(json.dumps(big, ensure_ascii=False).encode())
    assert source < MAX_PARAMS_BYTES
    assert storage_problem(big, parsed_from_bytes=source) == storage_problem(big)
    assert storage_problem(big) is not None
