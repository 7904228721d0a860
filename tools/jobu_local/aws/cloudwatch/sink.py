"""Where function log lines go: CloudWatch Logs in the emulator (and, optionally, the terminal).

Lambda writes one log event per line a function prints, to the log group
`/aws/lambda/<function name>`, in a stream per execution environment named
`YYYY/MM/DD/[$LATEST]<32 hex digits>`. The writer does the same: each cold start opens a new stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from jobu_local.host.logs import LogEvent

# put_log_events takes at most 10,000 events and 1,048,576 bytes (each event counts 26 bytes extra).
MAX_BATCH_EVENTS = 10_000
MAX_BATCH_BYTES = 1_048_576 - 64 * 1024
EVENT_OVERHEAD_BYTES = 26


@dataclass
class CloudWatchLogSink:
    """Buffers events per stream and sends them with put_log_events (in a worker thread)."""

    client: Any
    echo: TextIO | None = None
    label: Callable[[str], str] = lambda group: group.rsplit("/", 1)[-1]
    _pending: dict[tuple[str, str], list[LogEvent]] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def open_stream(self, log_group: str, stream: str) -> None:
        with contextlib.suppress(self.client.exceptions.ResourceAlreadyExistsException):
            self.client.create_log_group(logGroupName=log_group)
        self.client.create_log_stream(logGroupName=log_group, logStreamName=stream)

    def emit(self, log_group: str, stream: str, event: LogEvent) -> None:
        self._pending.setdefault((log_group, stream), []).append(event)
        if self.echo is not None:
            self.echo.write(f"[{self.label(log_group)}] {event.message}\n")
            self.echo.flush()

    async def flush(self) -> None:
        async with self._lock:
            pending, self._pending = self._pending, {}
            for (group, stream), events in pending.items():
                await asyncio.to_thread(self._put, group, stream, events)

    def _put(self, group: str, stream: str, events: list[LogEvent]) -> None:
        for batch in batches(sorted(events, key=lambda event: event.timestamp_ms)):
            self.client.put_log_events(
                logGroupName=group,
                logStreamName=stream,
                logEvents=[{"timestamp": event.timestamp_ms, "message": event.message} for event in batch],
            )


def batches(events: list[LogEvent]) -> list[list[LogEvent]]:
    """Split events into put_log_events-sized batches."""
    result: list[list[LogEvent]] = [[]]
    size = 0
    for event in events:
        event_size = len(event.message.encode()) + EVENT_OVERHEAD_BYTES
        if len(result[-1]) >= MAX_BATCH_EVENTS or size + event_size > MAX_BATCH_BYTES:
            result.append([])
            size = 0
        result[-1].append(event)
        size += event_size
    return [batch for batch in result if batch]
