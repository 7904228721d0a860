"""The embedded emulator's CloudWatch Logs journal: what a restart loads back, and what it drops."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path

from jobu_local.aws.cloudwatch import journal
from jobu_local.aws.cloudwatch.journal import DAY_MS, JournalWriter, kept_since_ms, load, start_new
from jobu_local.aws.endpoint import AwsTarget
from jobu_local.dashboard.run_logs import RunLogSource

NOW = 1_800_000_000_000
WHERE = {"account": "123456789012", "region": "us-east-1", "group": "/aws/lambda/jobu-WorkerFunction"}


def _write(path: Path, *records: dict[str, object]) -> None:
    writer = JournalWriter(path)
    try:
        for record in records:
            writer.append(record)
    finally:
        writer.close()


def _events(state: journal.LogState, stream: str = "s1") -> list[str]:
    group = state.groups[(WHERE["account"], WHERE["region"], WHERE["group"])]
    return [event["message"] for event in group.streams[stream].events]


def test_a_reload_gives_back_every_event_of_every_stream(tmp_path: Path) -> None:
    path = tmp_path / journal.JOURNAL_FILE
    start_new(path, now_ms=NOW - 10)
    _write(
        path,
        {"op": "group", **WHERE},
        {"op": "stream", **WHERE, "stream": "s1"},
        {"op": "events", **WHERE, "stream": "s1", "events": [{"timestamp": NOW - 5, "message": "one"}]},
        {"op": "events", **WHERE, "stream": "s1", "events": [{"timestamp": NOW - 4, "message": "two"}]},
        {"op": "stream", **WHERE, "stream": "s2"},
    )

    state = load(path, now_ms=NOW)
    again = load(path, now_ms=NOW)  # the compacted file loads to the same state

    assert _events(state) == ["one", "two"]
    assert _events(again) == ["one", "two"]
    assert _events(again, "s2") == []
    assert state.kept_since_ms == again.kept_since_ms == kept_since_ms(path) == NOW - 10
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # log lines carry params and errors


def test_deleted_streams_groups_and_events_past_retention_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / journal.JOURNAL_FILE
    other = {**WHERE, "group": "/aws/lambda/gone"}
    start_new(path, now_ms=NOW - 40 * DAY_MS)
    _write(
        path,
        {"op": "group", **WHERE},
        {"op": "retention", **WHERE, "days": 30},
        {"op": "stream", **WHERE, "stream": "s1"},
        {
            "op": "events",
            **WHERE,
            "stream": "s1",
            "events": [{"timestamp": NOW - 31 * DAY_MS, "message": "old"}],
        },
        {
            "op": "events",
            **WHERE,
            "stream": "s1",
            "events": [{"timestamp": NOW - 29 * DAY_MS, "message": "kept"}],
        },
        {"op": "stream", **WHERE, "stream": "s2"},
        {"op": "delete_stream", **WHERE, "stream": "s2"},
        {"op": "group", **other},
        {"op": "delete_group", **other},
        {"op": "events", **other, "stream": "x", "events": [{"timestamp": NOW, "message": "no group"}]},
    )

    state = load(path, now_ms=NOW)

    assert list(state.groups) == [(WHERE["account"], WHERE["region"], WHERE["group"])]
    assert list(state.groups[next(iter(state.groups))].streams) == ["s1"]
    assert _events(state) == ["kept"]
    assert "old" not in path.read_text()


def test_a_line_cut_short_by_a_crash_and_hostile_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / journal.JOURNAL_FILE
    start_new(path, now_ms=NOW)
    _write(
        path,
        {"op": "group", **WHERE},
        {
            "op": "events",
            **WHERE,
            "stream": "s1",
            "events": [{"timestamp": NOW, "message": "\x1b]52;c;x\x07"}],
        },
        {"op": "events", **WHERE, "stream": "s1", "events": [{"timestamp": "soon", "message": 3}, "nope"]},
    )
    with path.open("a") as file:
        file.write('["not an object"]\n{"op": "events", "account": "123456789012", "regi')

    state = load(path, now_ms=NOW)

    assert _events(state) == ["\x1b]52;c;x\x07"]  # kept exactly: escaping is the reader's job


def test_no_journal_starts_one_from_now(tmp_path: Path) -> None:
    path = tmp_path / journal.JOURNAL_FILE

    state = load(path, now_ms=NOW)

    assert (state.kept_since_ms, state.groups) == (NOW, {})
    assert json.loads(path.read_text()) == {"op": "journal", "kept_since_ms": NOW}


def test_the_run_page_says_lines_from_before_the_journal_are_gone() -> None:
    target = AwsTarget("http://127.0.0.1:5000", "us-east-1", "moto")
    kept_since = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    source = RunLogSource(target, {}, kept_since_ms=int(kept_since.timestamp() * 1000))

    note = source.gone(datetime(2026, 12, 7, 11, 59, tzinfo=UTC))

    assert "before 2026-12-07 12:00:00 UTC are gone" in str(note)
    assert source.gone(kept_since) is None
    assert RunLogSource(target, {}).gone(datetime(2020, 1, 1, tzinfo=UTC)) is None  # not known: not said
