"""Each kind of Kafka record the queue dispatcher must refuse, and the reason it gives."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import KafkaEvent

from jobu.event_dispatch import Accepted, Rejected, build_execution, parse_record
from jobu.models import MAX_PARAMS_BYTES
from tests.conftest import load_event

KNOWN = frozenset({"sample", "sample1"})


def record(value: bytes | str) -> Any:
    raw = value.encode() if isinstance(value, str) else value
    event = KafkaEvent(
        {
            "eventSource": "SelfManagedKafka",
            "bootstrapServers": "127.0.0.1:9092",
            "records": {
                "jobu-events-3": [
                    {
                        "topic": "jobu-events",
                        "partition": 3,
                        "offset": 42,
                        "timestamp": 0,
                        "timestampType": "CREATE_TIME",
                        "value": base64.b64encode(raw).decode(),
                        "headers": [],
                    }
                ]
            },
        }
    )
    return next(event.records)


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
        (
            json.dumps({"handler_name": "sample", "params": {"b": "x" * MAX_PARAMS_BYTES}}),
            "params is 262152 bytes; the limit is 262144",
        ),
    ],
)
def test_bad_records_are_rejected_with_a_reason(value: str, reason: str) -> None:
    parsed = parse_record(record(value), KNOWN)
    assert isinstance(parsed, Rejected)
    assert parsed.reason.startswith(reason)
    assert parsed.row()["raw_value"] == value
    assert (parsed.row()["source_partition"], parsed.row()["source_offset"]) == (3, 42)


def test_undecodable_bytes_are_kept_readably() -> None:
    parsed = parse_record(record(b"\xff\xfe{"), KNOWN)
    assert isinstance(parsed, Rejected)
    assert parsed.reason.startswith("value is not JSON")
    assert parsed.raw_value == "\ufffd\ufffd{"


def test_a_good_record_becomes_an_event_run() -> None:
    parsed = parse_record(record('{"handler_name": "sample", "params": {"id": 1}, "job_id": null}'), KNOWN)
    assert isinstance(parsed, Accepted)
    run = build_execution(parsed, base=None)
    assert (run.param_source, run.job_id, run.params, run.max_retry) == ("event", None, {"id": 1}, 0)
    assert (run.source_topic, run.source_partition, run.source_offset) == ("jobu-events", 3, 42)


def test_event_files_parse_with_powertools() -> None:
    records = list(KafkaEvent(load_event("queue_dispatcher_msk.json")).records)
    assert [type(parse_record(r, KNOWN)).__name__ for r in records] == ["Accepted", "Accepted", "Accepted"]
    bad = list(KafkaEvent(load_event("queue_dispatcher_bad_records.json")).records)
    assert [type(parse_record(r, KNOWN)).__name__ for r in bad] == ["Rejected"] * 4 + ["Accepted"]
