"""The checks `jobu produce` and `jobu logs` make before they talk to anything."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from jobu_local.commands.cli import main
from jobu_local.commands.logs import LogsError, build_pattern, parse_time
from jobu_local.commands.produce import MessageError, build_message

HANDLERS = frozenset({"sample", "sample1"})
TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


def test_a_message_from_flags_has_the_seeds_format() -> None:
    message = build_message(
        handler_name="sample",
        params_json='{"name": "x"}',
        job_id=None,
        document_text=None,
        known_handlers=HANDLERS,
    )

    assert message == {"handler_name": "sample", "params": {"name": "x"}, "job_id": None}


@pytest.mark.parametrize(
    ("flags", "document", "complaint"),
    [
        ({"handler_name": "nope"}, None, "unknown handler 'nope'"),
        ({"handler_name": "sample", "params_json": "{bad"}, None, "--params is not valid JSON"),
        ({"handler_name": "sample", "params_json": "[1]"}, None, "--params must be a JSON object"),
        ({}, "not json", "the message file is not valid JSON"),
        ({}, '{"params": {}}', 'needs "handler_name"'),
        ({}, '{"handler_name": "sample", "params": "x"}', '"params" must be a JSON object'),
        ({}, '{"handler_name": "sample", "job_id": "7"}', '"job_id" must be a whole number or null'),
        ({}, None, "give --handler NAME"),
    ],
)
def test_bad_messages_are_refused_before_sending(
    flags: dict[str, str], document: str | None, complaint: str
) -> None:
    arguments = {"handler_name": None, "params_json": None, "job_id": None, **flags}
    with pytest.raises(MessageError, match=complaint):
        build_message(**arguments, document_text=document, known_handlers=HANDLERS)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pattern", "execution_id", "level", "expected"),
    [
        (None, 42, None, "{ $.execution_id = 42 }"),
        (None, None, "error", '{ $.level = "ERROR" }'),
        (None, 7, "warning", '{ $.execution_id = 7 && $.level = "WARNING" }'),
        ('{ $.handler_name = "sample" }', 7, None, '{ ($.handler_name = "sample") && $.execution_id = 7 }'),
        ("ERROR", None, None, "ERROR"),
    ],
)
def test_logs_shortcuts_become_one_filter_pattern(
    pattern: str | None, execution_id: int | None, level: str | None, expected: str
) -> None:
    assert build_pattern(pattern, execution_id=execution_id, level=level) == expected


def test_a_term_pattern_cannot_be_joined_to_a_shortcut() -> None:
    with pytest.raises(LogsError):
        build_pattern("ERROR", execution_id=1)


def test_times_are_durations_ago_or_iso_times() -> None:
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

    assert parse_time("10m", now) == datetime(2026, 11, 22, 11, 50, tzinfo=UTC)
    assert parse_time("2h", now) == datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    assert parse_time("2026-11-22T09:30", now) == datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
    with pytest.raises(LogsError):
        parse_time("yesterday", now)


@pytest.mark.usefixtures("no_aws_credentials")
def test_logs_with_nothing_to_read_from_says_what_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("JOBU_LOCAL_STATE_DIR", str(tmp_path / "state"))  # no runtime running

    status = main(["logs", "worker", "--template", str(TEMPLATE)])

    captured = capsys.readouterr()
    assert status == 2
    assert captured.err.startswith("jobu: nothing to read logs from: no local runtime is running")
    assert "`jobu local up`" in captured.err
    assert "Traceback" not in captured.err
    assert len(captured.err.splitlines()) == 1
