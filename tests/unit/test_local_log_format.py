"""`jobu logs --format pretty`: what a person reads for each kind of log event."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from jobu_local.aws.cloudwatch.reader import LogLine
from jobu_local.commands.log_format import pretty
from jobu_local.commands.logs import default_format, print_lines

GROUP = "/aws/lambda/jobu-WorkerFunction"
WHEN_MS = 1_796_646_123_456  # 2026-12-07 12:22:03.456 UTC


def _line(message: Any) -> LogLine:
    text = message if isinstance(message, str) else json.dumps(message)
    return LogLine(WHEN_MS, GROUP, "2026/12/07/[$LATEST]abc", text, "1")


def test_a_run_line_shows_time_function_level_message_and_the_run_ids() -> None:
    line = _line(
        {
            "level": "INFO",
            "location": "run:271",
            "message": "run succeeded",
            "timestamp": "2026-12-07 12:22:03,456+0000",
            "service": "jobu",
            "execution_id": 42,
            "job_id": 7,
            "handler_name": "sample",
            "function_request_id": "0f3c-req",
            "xray_trace_id": "1-6756a0a3-0123456789abcdef01234567",
            "cold_start": False,
        }
    )

    assert pretty(line, "WorkerFunction") == (
        "2026-12-07 12:22:03.456 WorkerFunction INFO     run succeeded  "
        "[run=42 job=7 handler=sample trace=1-6756a0a3-0123456789abcdef01234567 request=0f3c-req]"
    )


def test_an_exception_traceback_is_on_lines_of_its_own() -> None:
    line = _line(
        {
            "level": "ERROR",
            "message": "run failed",
            "execution_id": 3,
            "exception": 'Traceback (most recent call last):\n  File "h.py", line 1\nValueError: bad\n',
            "exception_name": "ValueError",
        }
    )

    assert pretty(line, "WorkerFunction").splitlines() == [
        "2026-12-07 12:22:03.456 WorkerFunction ERROR    run failed  [run=3]",
        "    Traceback (most recent call last):",
        '      File "h.py", line 1',
        "    ValueError: bad",
    ]


def test_lambda_records_and_plain_text_keep_their_text() -> None:
    report = _line(
        {
            "time": "2026-12-07T12:22:03.456Z",
            "type": "platform.report",
            "record": {"requestId": "0f3c-req", "status": "success", "metrics": {"durationMs": 12.5}},
        }
    )

    assert pretty(report, "WorkerFunction") == (
        "2026-12-07 12:22:03.456 WorkerFunction PLATFORM platform.report requestId=0f3c-req status=success "
        "durationMs=12.5"
    )
    assert pretty(_line("START RequestId: 0f3c-req Version: $LATEST\n"), "WorkerFunction") == (
        "2026-12-07 12:22:03.456 WorkerFunction START RequestId: 0f3c-req Version: $LATEST"
    )


@pytest.mark.parametrize(
    "hostile",
    [
        "\x1b]52;c;aGk=\x07copied",  # OSC 52: a write to the clipboard
        "\x1b[2K\rerased",  # erase the line, go back to its start
        "\u202eevil",  # right-to-left override
        "fake\nERROR    another line",  # a line that poses as another event
    ],
)
def test_control_characters_are_escaped_and_no_field_poses_as_a_line(hostile: str) -> None:
    shown = pretty(_line({"level": "INFO", "message": hostile, "handler_name": hostile}), "WorkerFunction")

    assert not any(char in shown for char in "\x1b\x07\r\u202e")
    assert all(line.startswith(("2026-12-07 ", "    ")) for line in shown.splitlines())


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_pretty_on_a_terminal_json_when_piped() -> None:
    line = _line({"level": "INFO", "message": "run started", "execution_id": 1})
    piped = io.StringIO()

    print_lines([line], {GROUP: "WorkerFunction"}, piped, default_format(piped))

    assert default_format(_Terminal()) == "pretty"
    assert json.loads(piped.getvalue())["message"] == line.message  # the FilterLogEvents event, exact


def test_a_metrics_record_shows_each_metric_and_its_dimensions_not_null() -> None:
    # Powertools Metrics' embedded metric format: no "message" of its own
    line = _line(
        {
            "_aws": {
                "Timestamp": WHEN_MS,
                "CloudWatchMetrics": [
                    {
                        "Namespace": "Jobu",
                        "Dimensions": [["service", "handler", "status"]],
                        "Metrics": [{"Name": "RunsEnded", "Unit": "Count"}],
                    }
                ],
            },
            "service": "jobu",
            "handler": "sample",
            "status": "SUCCESS",
            "RunsEnded": [1.0],
        }
    )
    assert pretty(line, "WorkerFunction") == (
        "2026-12-07 12:22:03.456 WorkerFunction METRICS  RunsEnded=1.0  [handler=sample status=SUCCESS]"
    )
