"""CloudWatch Logs that outlive the embedded emulator: a journal on disk beside the local database.

moto server keeps everything in memory, so before this a restarted `jobu local up` had every run of
its database but none of their log lines. The emulator (aws/moto_server.py) now appends what
CloudWatch Logs is told (log groups, streams, retention, events) to a journal, one JSON object a
line, and on start loads the journal back, so FilterLogEvents (the AWS CLI, `jobu logs`, the
dashboard) answers as before the restart.

On load the journal is compacted: deleted groups and streams, and events older than their group's
retention (as CloudWatch would have deleted them), are dropped and the rest written again. Its first
line says since when it has kept lines (`kept_since_ms`): a run older than that, or older than the
retention, has lines that are gone for good, and the dashboard says so. The journal belongs to one
database: the runtime starts a new one when it creates the database (a run id of a new database
must not show another database's lines). The file is the owner's only (0600): log lines carry
params and errors.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

JOURNAL_FILE = "cloudwatch-logs.jsonl"
PRIVATE_FILE = 0o600
DAY_MS = 86_400_000


def journal_path(state_directory: Path) -> Path:
    return state_directory / JOURNAL_FILE


def kept_since_ms(path: Path) -> int | None:
    """Since when the journal at `path` has kept lines (ms since the epoch), or None without one."""
    try:
        with path.open(encoding="utf-8") as file:
            header = json.loads(file.readline())
    except (OSError, ValueError):
        return None
    value = header.get("kept_since_ms") if isinstance(header, dict) else None
    return value if isinstance(value, int) else None


def start_new(path: Path, now_ms: int | None = None) -> None:
    """An empty journal keeping lines from now (the old one, if any, is dropped)."""
    _write(path, [_header(now_ms if now_ms is not None else _now_ms())])


@dataclass
class _Stream:
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Group:
    account: str
    region: str
    retention_days: int | None = None
    streams: dict[str, _Stream] = field(default_factory=dict)


@dataclass
class LogState:
    """What the journal holds once replayed: groups by (account, region, name)."""

    kept_since_ms: int
    groups: dict[tuple[str, str, str], _Group] = field(default_factory=dict)

    def apply(self, record: dict[str, Any]) -> None:
        op = record.get("op")
        key = (str(record.get("account")), str(record.get("region")), str(record.get("group")))
        if op == "group":
            self.groups.setdefault(key, _Group(key[0], key[1]))
        elif op == "delete_group":
            self.groups.pop(key, None)
        elif key not in self.groups:
            return  # a line for a group deleted (or never created): CloudWatch would refuse it
        elif op == "retention":
            days = record.get("days")
            self.groups[key].retention_days = days if isinstance(days, int) else None
        elif op == "stream":
            self.groups[key].streams.setdefault(str(record.get("stream")), _Stream())
        elif op == "delete_stream":
            self.groups[key].streams.pop(str(record.get("stream")), None)
        elif op == "events":
            stream = self.groups[key].streams.setdefault(str(record.get("stream")), _Stream())
            stream.events.extend(_valid_events(record.get("events")))

    def expire(self, now_ms: int) -> None:
        """Drop the events past their group's retention, as CloudWatch does."""
        for group in self.groups.values():
            if group.retention_days is None:
                continue
            oldest = now_ms - group.retention_days * DAY_MS
            for stream in group.streams.values():
                stream.events = [event for event in stream.events if event["timestamp"] >= oldest]

    def records(self) -> Iterator[dict[str, Any]]:
        """The journal's lines that rebuild this state (after the header)."""
        for (account, region, name), group in self.groups.items():
            where = {"account": account, "region": region, "group": name}
            yield {"op": "group", **where}
            if group.retention_days is not None:
                yield {"op": "retention", **where, "days": group.retention_days}
            for stream_name, stream in group.streams.items():
                yield {"op": "stream", **where, "stream": stream_name}
                if stream.events:
                    yield {"op": "events", **where, "stream": stream_name, "events": stream.events}


def _valid_events(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        return []
    return [
        {"timestamp": event["timestamp"], "message": event["message"]}
        for event in value
        if isinstance(event, dict)
        and isinstance(event.get("timestamp"), int)
        and isinstance(event.get("message"), str)
    ]


def load(path: Path, now_ms: int | None = None) -> LogState:
    """The journal's state (an empty one keeping lines from now if there is none), compacted on disk.

    A line cut short by a crash mid-write is skipped: the lines before it are whole."""
    now = now_ms if now_ms is not None else _now_ms()
    since = kept_since_ms(path)
    state = LogState(since if since is not None else now)
    if since is not None:
        for record in _lines(path):
            state.apply(record)
    state.expire(now)
    _write(path, [_header(state.kept_since_ms), *state.records()])
    return state


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8", errors="replace") as file:
        next(file, None)  # the header
        for line in file:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                yield record


class JournalWriter:
    """Appends records to the journal, one whole line per write (moto server is threaded)."""

    def __init__(self, path: Path) -> None:
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, PRIVATE_FILE)
        self._file = os.fdopen(descriptor, "a", encoding="utf-8")
        self._lock = threading.Lock()

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with self._lock:
            # flushed at once: a killed runtime loses no line the emulator acknowledged
            self._file.write(line)
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()


def _header(since_ms: int) -> dict[str, Any]:
    return {"op": "journal", "kept_since_ms": since_ms}


def _write(path: Path, records: list[dict[str, Any]] | Iterator[dict[str, Any]]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, PRIVATE_FILE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        os.fchmod(file.fileno(), PRIVATE_FILE)
        for record in records:
            file.write(json.dumps(record, separators=(",", ":")) + "\n")
    temporary.replace(path)


def _now_ms() -> int:
    return int(time.time() * 1000)
