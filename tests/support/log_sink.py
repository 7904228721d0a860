"""A LogSink that keeps events in memory, for tests of the local runtime's functions."""

from __future__ import annotations

from dataclasses import dataclass, field

from jobu_local.host.logs import LogEvent


@dataclass
class MemoryLogSink:
    """Keeps events in memory."""

    streams: dict[tuple[str, str], list[LogEvent]] = field(default_factory=dict)

    def open_stream(self, log_group: str, stream: str) -> None:
        self.streams.setdefault((log_group, stream), [])

    def emit(self, log_group: str, stream: str, event: LogEvent) -> None:
        self.streams.setdefault((log_group, stream), []).append(event)

    def flush_soon(self) -> None:
        return None

    async def flush(self) -> None:
        return None

    def messages(self, log_group: str) -> list[str]:
        return [
            event.message
            for (group, _), events in self.streams.items()
            if group == log_group
            for event in events
        ]
