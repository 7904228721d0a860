"""jobu.traces: which traceparent headers are kept, and what the worker sends onwards."""

from __future__ import annotations

from typing import Any

import pytest

from jobu.traces import MAX_HEADERS, TraceParent, from_kafka_headers

VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _header(value: Any, name: str = "traceparent") -> list[dict[str, Any]]:
    return [{name: list(value.encode()) if isinstance(value, str) else value}]


def test_a_valid_header_is_read_whatever_the_case_of_its_name() -> None:
    trace = from_kafka_headers([{"b3": list(b"x")}, *_header(VALID, "TraceParent")])

    assert trace is not None
    assert str(trace) == VALID
    assert (trace.trace_id, trace.parent_id, trace.flags) == (
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "00f067aa0ba902b7",
        "01",
    )
    assert trace.xray_trace_id == "1-4bf92f35-77b34da6a3ce929d0e0e4736"


@pytest.mark.parametrize(
    "headers",
    [
        None,
        "traceparent",
        {"traceparent": list(VALID.encode())},  # a map, not AWS's list of maps
        [["traceparent", list(VALID.encode())]],
        _header(VALID.encode().decode("latin-1").upper()),
        _header([*VALID.encode()[:-1], 256]),  # not a byte
        _header([*VALID.encode()[:-1], True]),  # a JSON boolean
        _header(list("é" * 55)),
        _header(VALID.replace("-", "_")),
        _header(VALID + "-extra"),
        [{"other": [1]}] * MAX_HEADERS + _header(VALID),  # past what is read
    ],
)
def test_what_is_not_exactly_a_version_00_header_is_ignored(headers: Any) -> None:
    assert from_kafka_headers(headers) is None


def test_the_worker_continues_the_trace_with_a_span_of_its_own() -> None:
    trace = TraceParent.parse(VALID)
    assert trace is not None

    child = trace.child()

    assert (child.trace_id, child.flags) == (trace.trace_id, trace.flags)
    assert child.parent_id != trace.parent_id
    assert TraceParent.parse(str(child)) == child
