"""Reading CloudWatch Logs as `jobu logs` and the dashboard do: FilterLogEvents over some log groups,
with the filter pattern applied here too wherever the endpoint is not AWS itself (the emulators do
not apply it: moto matches plain terms only, LocalStack returns every event), and Lambda's own
request lines (START/END/REPORT or platform.* records) added for the invocations that matched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from jobu_local.aws.cloudwatch.filter_pattern import FilterPatternError, compile_pattern
from jobu_local.aws.endpoint import AwsTarget

_REQUEST_ID = re.compile(r"RequestId: ([0-9a-f-]{36})")


@dataclass(frozen=True)
class LogLine:
    timestamp_ms: int
    log_group: str
    log_stream: str
    message: str
    event_id: str

    def as_json(self) -> dict[str, Any]:
        return {
            "timestamp": self.timestamp_ms,
            "logGroupName": self.log_group,
            "logStreamName": self.log_stream,
            "eventId": self.event_id,
            "message": self.message,
        }


@dataclass
class LogReader:
    target: AwsTarget
    log_groups: Sequence[str]
    pattern: str = ""

    def __post_init__(self) -> None:
        self.client = self.target.client("logs")
        self.server_pattern = "" if self.target.emulator == "moto" else self.pattern
        self.local_match: Callable[[str], bool] = lambda _message: True
        if self.target.emulator != "aws":
            try:
                self.local_match = compile_pattern(self.pattern)
            except FilterPatternError:
                if self.target.emulator == "moto":
                    raise

    def read(self, start_ms: int, end_ms: int | None = None, pattern: str | None = None) -> list[LogLine]:
        lines = [line for group in self.log_groups for line in self._group(group, start_ms, end_ms, pattern)]
        # stable: events of one millisecond keep the order the service returned them in
        return sorted(lines, key=lambda line: line.timestamp_ms)

    def _group(self, group: str, start_ms: int, end_ms: int | None, pattern: str | None) -> Iterator[LogLine]:
        server_pattern = self.server_pattern if pattern is None else pattern
        match = self.local_match if pattern is None else compile_pattern(pattern)
        arguments: dict[str, Any] = {"logGroupName": group, "startTime": start_ms}
        if end_ms is not None:
            arguments["endTime"] = end_ms
        if server_pattern:
            arguments["filterPattern"] = server_pattern
        try:
            pages = self.client.get_paginator("filter_log_events").paginate(**arguments)
            for page in pages:
                for event in page.get("events", []):
                    if match(event["message"]):
                        yield LogLine(
                            event["timestamp"],
                            group,
                            event["logStreamName"],
                            event["message"],
                            event["eventId"],
                        )
        except self.client.exceptions.ResourceNotFoundException:
            return

    def with_request_lines(self, lines: list[LogLine], start_ms: int, end_ms: int | None) -> list[LogLine]:
        """Add Lambda's own lines (START / END / REPORT, or platform.* records in JSON format) of the
        invocations the matched lines came from."""
        request_ids = sorted({rid for line in lines if (rid := _request_id(line.message))})
        extra = [
            line
            for request_id in request_ids
            for line in self.read(start_ms, end_ms, pattern=f'"{request_id}"')
        ]
        unique = {line.event_id: line for line in [*lines, *extra]}
        return sorted(unique.values(), key=lambda line: (line.timestamp_ms, _phase(line.message)))


_PHASES = (
    ("INIT_START", '{"time":', "platform.initStart"),
    ("START ", '{"time":', "platform.start"),
    ("", "", ""),
    ("END ", '{"time":', "platform.runtimeDone"),
    ("REPORT ", '{"time":', "platform.report"),
)


def _phase(message: str) -> int:
    """Within one millisecond: START before the function's lines, END and REPORT after them."""
    for rank, (text, json_start, kind) in enumerate(_PHASES):
        if text and (message.startswith(text) or (message.startswith(json_start) and f'"{kind}"' in message)):
            return rank
    return 2


def _request_id(message: str) -> str | None:
    try:
        document = json.loads(message)
    except ValueError:
        found = _REQUEST_ID.search(message)
        return found.group(1) if found else None
    if not isinstance(document, dict):
        return None
    record = document.get("record")
    value = document.get("function_request_id") or (
        record.get("requestId") if isinstance(record, dict) else None
    )
    return str(value) if value else None
