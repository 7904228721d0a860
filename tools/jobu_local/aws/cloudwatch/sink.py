"""Where function log lines go: CloudWatch Logs in the emulator (and, optionally, the terminal).

Lambda writes one log event per line a function prints, to the log group
`/aws/lambda/<function name>`, in a stream per execution environment named
`YYYY/MM/DD/[$LATEST]<32 hex digits>`. The writer does the same: each cold start opens a new stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from jobu_local.host.logs import LogEvent

log = logging.getLogger("jobu_local")

# put_log_events takes at most 10,000 events and 1,048,576 bytes (each event counts 26 bytes extra).
MAX_BATCH_EVENTS = 10_000
MAX_BATCH_BYTES = 1_048_576 - 64 * 1024
EVENT_OVERHEAD_BYTES = 26


# How long lines wait to be sent together: invocations that end within it share put_log_events calls.
FLUSH_DELAY_SECONDS = 0.1


@dataclass
class CloudWatchLogSink:
    """Buffers events per stream and sends them with put_log_events (in a worker thread).

    As on Lambda, an invocation does not wait for its lines to reach CloudWatch Logs: `flush_soon`
    sends them shortly after (lines of invocations that end meanwhile go in the same calls);
    `flush` sends everything now (when a container stops).
    """

    client: Any
    echo: TextIO | None = None
    label: Callable[[str], str] = lambda group: group.rsplit("/", 1)[-1]
    _pending: dict[tuple[str, str], list[LogEvent]] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _scheduled: asyncio.Task[None] | None = None

    def open_stream(self, log_group: str, stream: str) -> None:
        with contextlib.suppress(self.client.exceptions.ResourceAlreadyExistsException):
            self.client.create_log_group(logGroupName=log_group)
        self.client.create_log_stream(logGroupName=log_group, logStreamName=stream)

    def emit(self, log_group: str, stream: str, event: LogEvent) -> None:
        if not event.message:
            return  # CloudWatch Logs takes no empty event (a blank line printed)
        self._pending.setdefault((log_group, stream), []).append(event)
        if self.echo is not None:
            self.echo.write(f"[{self.label(log_group)}] {event.message}\n")
            self.echo.flush()

    def flush_soon(self) -> None:
        if self._scheduled is None or self._scheduled.done():
            self._scheduled = asyncio.get_running_loop().create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(FLUSH_DELAY_SECONDS)
        try:
            await self._send()
        except Exception as error:  # the emulator went away (the runtime is stopping): said, not raised
            log.warning("log lines not written to CloudWatch Logs: %s", error)

    async def flush(self) -> None:
        scheduled, self._scheduled = self._scheduled, None
        if scheduled is not None:
            await scheduled
        await self._send()

    async def _send(self) -> None:
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
