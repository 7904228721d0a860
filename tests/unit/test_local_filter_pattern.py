"""CloudWatch filter patterns, checked against the examples of AWS's filter pattern syntax documentation."""

from __future__ import annotations

import json

import pytest

from jobu_local.aws.cloudwatch.filter_pattern import FilterPatternError, compile_pattern

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
    assert compile_pattern(pattern)(message) is expected


@pytest.mark.parametrize(
    "pattern",
    [
        "{ $.a = }",
        "{ $.a = 1",
        "{ a = 1 }",
        "{ $.a > abc }",
        "[ip, user",
        "[ip, 5]",
        "[ip, a >]",
        "{ $.a IS MAYBE }",
    ],
)
def test_malformed_or_unsupported_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(FilterPatternError):
        compile_pattern(pattern)


# The JSON event of the documentation's JSON examples, and the one of its compound-condition examples.
DOC_EVENT = json.dumps(
    {
        "eventType": "UpdateTrail",
        "sourceIPAddress": "111.111.111.111",
        "arrayKey": ["value", "another value"],
        "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
        "SomeObject": None,
        "ThisFlag": True,
    }
)
DOC_USERS = json.dumps(
    {
        "user": {"id": 1, "email": "John.Stiles@example.com"},
        "users": [{"id": 2, "email": "John.Doe@example.com"}, {"id": 3, "email": "Jane.Doe@example.com"}],
        "actions": ["GET", "PUT", "DELETE"],
        "coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]],
    }
)


@pytest.mark.parametrize(
    ("pattern", "message", "expected"),
    [
        ('{ $.eventType = "UpdateTrail" }', DOC_EVENT, True),
        ("{ $.sourceIPAddress != 123.123.* }", DOC_EVENT, True),
        ('{ $.arrayKey[0] = "value" }', DOC_EVENT, True),
        ("{ $.objectList[1].id = 2 }", DOC_EVENT, True),
        ("{ $.SomeObject IS NULL }", DOC_EVENT, True),
        ("{ $.SomeOtherObject NOT EXISTS }", DOC_EVENT, True),
        ("{ $.ThisFlag IS TRUE }", DOC_EVENT, True),
        ('{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', DOC_USERS, True),
        ('{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }', DOC_USERS, False),
        (
            '{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch'
            " && $.actions[2] = nomatch }",
            DOC_USERS,
            True,
        ),
        (
            '{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch)'
            " && $.actions[2] = nomatch }",
            DOC_USERS,
            False,
        ),
        # "both { $.users = 1 } and { $.users != 1 } will fail to match a log event where users is an array"
        ("{ $.users = 1 }", json.dumps({"users": [1, 2, 3]}), False),
        ("{ $.users != 1 }", json.dumps({"users": [1, 2, 3]}), False),
        ("{ $.user != 1 }", DOC_USERS, False),  # an object is no value node either
        # "{ $.latency = * }" selects events that have a (numeric) latency
        ("{ $.latency = * }", json.dumps({"latency": 250}), True),
        ('{ $.latency = "*" }', json.dumps({"latency": 250}), True),
        ("{ $.latency = * }", json.dumps({"other": 250}), False),
        ("{ $.latency >= 500 }", json.dumps({"latency": 500}), True),
        ("{ $.numbers[0] < 10e3 }", json.dumps({"numbers": [9999]}), True),
        ("{ $.numbers[0] < 10e-3 }", json.dumps({"numbers": [0.01]}), False),
        (
            "{ $.processes[4].averageRuntime <= 55.5 }",
            json.dumps({"processes": [{}] * 4 + [{"averageRuntime": 55.5}]}),
            True,
        ),
        ("{ $.errorCode = 400 }", json.dumps({"errorCode": 400}), True),
        ("{ $.errorCode != 500 }", json.dumps({"errorCode": 400}), True),
        ("{ $.latency > +1000 }", json.dumps({"latency": 1001}), True),
        ("{ $.latency > 10 }", json.dumps({"latency": "42"}), False),  # a JSON string is not a number
        # the array wildcard: any element
        ("{ $.users[*].id = 3 }", DOC_USERS, True),
        ("{ $.users[*].id = 4 }", DOC_USERS, False),
        ('{ $.arrayKey[*] = "another value" }', DOC_EVENT, True),
        ("{ $.coordinates[*][*] = 8 }", DOC_USERS, True),
        ("{ $.users[*].missing NOT EXISTS }", DOC_USERS, True),
        # OR in JSON
        ("{ $.foo = bar || $.foo = baz }", json.dumps({"foo": "baz"}), True),
        ("{ $.foo = bar }", json.dumps({"foo": "baz"}), False),
        # terms
        ("ERROR", "[ERROR] A fatal exception has occurred", True),
        ("ERROR", "Exiting with ERRORCODE: -1", True),
        ('"ERROR" -"Exiting"', "Exiting with ERRORCODE: -1", False),
        ("ERROR Exception", "[ERROR] Caught IllegalArgumentException", True),
        ("Failed to process the request", "[ERROR] Unable to continue: Failed to process the request", True),
        ("?ERROR ?WARN", "WARN message", True),
        ("ERROR WARN", "ERROR message", False),
        ("ERROR -WARN", "ERROR message", True),
        ("ERROR -WARN", "ERROR WARN message", False),
    ],
)
def test_the_documentation_examples(pattern: str, message: str, expected: bool) -> None:
    assert compile_pattern(pattern)(message) is expected


ACCESS_LOG = [
    '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534',
    '127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /apache_pb.gif HTTP/1.0" 500 5324',
    '127.0.0.1 - frank [10/Oct/2000:13:50:35 -0700] "GET /apache_pb.gif HTTP/1.0" 200 4355',
    '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534',
]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("[ip, user, username, timestamp, request, status_code, bytes]", [0, 1, 2, 3]),
        ("[..., status_code, bytes]", [0, 1, 2, 3]),
        ("[ip, user, ..., status_code, bytes]", [0, 1, 2, 3]),
        ("[ip, user, ...]", [0, 1, 2, 3]),
        ("[ip, user, username, timestamp]", []),  # without ... the field counts must be equal
        ("[ip, user, username, timestamp, request, status_code, bytes > 1000]", [0, 1, 2, 3]),
        ("[ip, user, username, timestamp, request, status_code, bytes > 4000]", [1, 2]),
        ("[ip, user, username, timestamp, request, status_code = 200, bytes]", [0, 2]),
        ("[ip, user, username, timestamp, request, status_code = 4*, bytes]", [3]),
        ("[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]", [3]),
        ("[ip, user, username, timestamp, request, status_code = 4* && bytes > 1000, bytes]", [3]),
        ("[ip, user, username, timestamp, request, status_code = 5* || status_code = 4*, bytes]", [1, 3]),
        ("[ip, user, username, timestamp, request, status_code != 200, bytes]", [1, 3]),
        ("[..., request=*.html*, status_code=4*,]", [3]),
        ("[ip, user, username, timestamp = *13:25*, ...]", [0, 3]),
        ("[ip, user, username, timestamp, request = %apache_pb%, ...]", [0, 1, 2]),
        ('[ip, user, username = "frank", ...]', [0, 1, 2, 3]),
        ("[ip, user, username, timestamp, request, status_code >= 400, bytes]", [1, 3]),
    ],
)
def test_space_delimited_examples_of_the_documentation(pattern: str, expected: list[int]) -> None:
    assert [index for index, line in enumerate(ACCESS_LOG) if compile_pattern(pattern)(line)] == expected


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("[w1=ERROR, w2]", [1]),
        ("[w1=ERROR || w1=WARN, w2]", [1, 2]),
        ("[w1, w2, w3]", [0]),
    ],
)
def test_or_in_space_delimited_patterns(pattern: str, expected: list[int]) -> None:
    lines = ["ERROR WARN message", "ERROR message", "WARN message"]
    assert [index for index, line in enumerate(lines) if compile_pattern(pattern)(line)] == expected
