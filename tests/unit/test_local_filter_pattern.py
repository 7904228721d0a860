"""CloudWatch filter patterns as `jobu logs` applies them where the emulator cannot (moto)."""

from __future__ import annotations

import json

import pytest

from jobu_local.aws.cloudwatch.filter_pattern import FilterPatternError, compile_pattern, matches

RUN_42 = json.dumps(
    {"level": "INFO", "message": "run finished", "execution_id": 42, "job_id": None, "ok": True}
)
RUN_7_ERROR = json.dumps(
    {
        "level": "ERROR",
        "message": "handler failed",
        "execution_id": 7,
        "handler_name": "sample",
        "tags": ["a", "b"],
    }
)
REPORT = "REPORT RequestId: 1b2c\tDuration: 2.00 ms\tBilled Duration: 3 ms"


@pytest.mark.parametrize(
    ("pattern", "message", "expected"),
    [
        ("", REPORT, True),
        ("{ $.execution_id = 42 }", RUN_42, True),
        ("{ $.execution_id = 42 }", RUN_7_ERROR, False),
        ("{ $.execution_id = 42 }", REPORT, False),
        ('{ $.level = "ERROR" }', RUN_7_ERROR, True),
        ('{ $.level = "ERROR" }', RUN_42, False),
        ("{ $.level = ERR* }", RUN_7_ERROR, True),
        ("{ $.execution_id != 42 }", RUN_7_ERROR, True),
        ("{ $.execution_id != 42 }", REPORT, False),
        ("{ $.execution_id > 10 }", RUN_42, True),
        ("{ $.execution_id <= 7 }", RUN_7_ERROR, True),
        ('{ $.level = "ERROR" && $.execution_id = 7 }', RUN_7_ERROR, True),
        ('{ $.level = "ERROR" && $.execution_id = 42 }', RUN_7_ERROR, False),
        ('{ ($.execution_id = 42 || $.level = "ERROR") && $.message = "run*" }', RUN_42, True),
        ('{ ($.execution_id = 42 || $.level = "ERROR") && $.message = "run*" }', RUN_7_ERROR, False),
        ("{ $.job_id IS NULL }", RUN_42, True),
        ("{ $.ok IS TRUE }", RUN_42, True),
        ("{ $.ok IS FALSE }", RUN_42, False),
        ("{ $.handler_name NOT EXISTS }", RUN_42, True),
        ("{ $.handler_name NOT EXISTS }", RUN_7_ERROR, False),
        ('{ $.tags[1] = "b" }', RUN_7_ERROR, True),
        ("REPORT", REPORT, True),
        ("REPORT Duration", REPORT, True),
        ("REPORT Timeout", REPORT, False),
        ("?Timeout ?Billed", REPORT, True),
        ("REPORT -Billed", REPORT, False),
        ('"Billed Duration"', REPORT, True),
        ("%Duration: [0-9.]+ ms%", REPORT, True),
        ("report", REPORT, False),  # terms are case-sensitive
    ],
)
def test_patterns_match_as_cloudwatch_documents(pattern: str, message: str, expected: bool) -> None:
    assert matches(pattern, message) is expected


@pytest.mark.parametrize(
    "pattern", ["{ $.a = }", "{ $.a = 1", "{ a = 1 }", "{ $.a > abc }", "[ip, user]", "{ $.a IS MAYBE }"]
)
def test_malformed_or_unsupported_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(FilterPatternError):
        compile_pattern(pattern)
