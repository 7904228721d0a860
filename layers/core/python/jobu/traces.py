"""W3C Trace Context: the `traceparent` a producer sends with a Kafka record, kept on its run.

A producing service that traces its requests puts `traceparent: 00-<trace id>-<span id>-<flags>`
in the record's headers (W3C Trace Context, the header OpenTelemetry and X-Ray's W3C support
propagate). The queue dispatcher keeps it on the run; the worker logs the trace id on every line of
the run, gives it to X-Ray as an annotation, and hands the handler a traceparent of its own span
(the same trace, a new parent id) to send onwards. So a request can be followed from the service
that produced the record into jobu and back out.

A header is hostile input like the rest of the record: only version 00's exact form is accepted
(55 characters, lower-case hex, trace id and parent id not all zeros, as the specification says a
receiver must check); anything else, and headers that are not the shape AWS documents, is ignored:
the run simply has no trace. A bad header never rejects a record.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

HEADER = "traceparent"
LENGTH = 55
_FORMAT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_ZERO_TRACE = "0" * 32
_ZERO_PARENT = "0" * 16
# a record's headers are read only this far: a batch may carry thousands of records
MAX_HEADERS = 64


@dataclass(frozen=True)
class TraceParent:
    trace_id: str
    parent_id: str
    flags: str

    @classmethod
    def parse(cls, text: Any) -> TraceParent | None:
        """The traceparent `text` is, or None if it is not exactly version 00's form."""
        if not isinstance(text, str) or len(text) != LENGTH:
            return None
        found = _FORMAT.fullmatch(text)
        if found is None:
            return None
        trace_id, parent_id, flags = found.groups()
        if trace_id == _ZERO_TRACE or parent_id == _ZERO_PARENT:
            return None
        return cls(trace_id, parent_id, flags)

    def __str__(self) -> str:
        return f"00-{self.trace_id}-{self.parent_id}-{self.flags}"

    @property
    def xray_trace_id(self) -> str:
        """The same trace in X-Ray's notation (X-Ray reads W3C trace ids this way)."""
        return f"1-{self.trace_id[:8]}-{self.trace_id[8:]}"

    def child(self) -> TraceParent:
        """The traceparent of a span of this trace that starts here (a new parent id)."""
        import secrets  # with hmac: when a run carries a trace, not at every worker's init

        return TraceParent(self.trace_id, secrets.token_hex(8), self.flags)


def from_kafka_headers(headers: Any) -> TraceParent | None:
    """The record's traceparent: AWS delivers headers as a list of {name: [byte, ...]} objects."""
    if not isinstance(headers, list):
        return None
    for header in headers[:MAX_HEADERS]:
        if not isinstance(header, Mapping):
            continue
        for name, value in header.items():
            if isinstance(name, str) and name.lower() == HEADER:
                return TraceParent.parse(_text(value))
    return None


def _text(value: Any) -> str | None:
    """Header bytes (a list of ints, as AWS sends them) as ASCII text, or None."""
    if not isinstance(value, list) or len(value) != LENGTH:
        return None
    if not all(isinstance(byte, int) and not isinstance(byte, bool) and 0x20 < byte < 0x7F for byte in value):
        return None
    return bytes(value).decode("ascii")
