"""A container's log lines: the sink they are written to, and the stream each cold start opens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol


@dataclass(frozen=True)
class LogEvent:
    timestamp_ms: int
    message: str


def now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def new_stream_name(version: str = "$LATEST") -> str:
    return f"{datetime.now(UTC):%Y/%m/%d}/[{version}]{uuid.uuid4().hex}"


class LogSink(Protocol):
    """Receives a function's log lines; `flush` returns once they are readable where they go,
    `flush_soon` has them sent shortly without waiting (the end of an invocation)."""

    def open_stream(self, log_group: str, stream: str) -> None: ...

    def emit(self, log_group: str, stream: str, event: LogEvent) -> None: ...

    def flush_soon(self) -> None: ...

    async def flush(self) -> None: ...
