"""The AWS CLI (v1, from PyPI) reads the embedded emulator's CloudWatch Logs as it reads CloudWatch:
FilterLogEvents applies JSON, space-delimited and term patterns; GetLogEvents and
DescribeLogGroups/Streams answer as usual; a pattern CloudWatch refuses is refused."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jobu_local.aws.endpoint import AwsTarget, moto_server
from jobu_local.aws.loopback import LOOPBACK
from jobu_local.aws.processes import free_port

GROUP = "/aws/lambda/jobu-WorkerFunction"
STREAM = "2026/11/30/[$LATEST]0123456789abcdef0123456789abcdef"
AWS = str(Path(sys.executable).with_name("aws"))
LINES = [
    json.dumps({"level": "INFO", "message": "run started", "execution_id": 42}),
    json.dumps({"level": "ERROR", "message": "run failed", "execution_id": 7, "latency": 1200}),
    json.dumps({"level": "INFO", "message": "run succeeded", "execution_id": 42, "tags": ["a", "b"]}),
    '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534',
    "REPORT RequestId: 1b2c\tDuration: 2.00 ms",
]


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    service = moto_server(port, tmp_path_factory.mktemp("moto") / "moto.log")
    asyncio.run(service.start())
    url = f"http://{LOOPBACK}:{port}"
    logs = AwsTarget(url, "us-east-1", "moto").client("logs")
    logs.create_log_group(logGroupName=GROUP)
    logs.create_log_stream(logGroupName=GROUP, logStreamName=STREAM)
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=GROUP,
        logStreamName=STREAM,
        logEvents=[{"timestamp": now + index, "message": line} for index, line in enumerate(LINES)],
    )
    try:
        yield url
    finally:
        service.stop()


def aws(endpoint: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(
        [AWS, "--endpoint-url", endpoint, "--output", "json", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
        check=False,
    )


def filtered(endpoint: str, pattern: str) -> list[str]:
    result = aws(
        endpoint, "logs", "filter-log-events", "--log-group-name", GROUP, "--filter-pattern", pattern
    )
    assert result.returncode == 0, result.stderr
    answer: dict[str, Any] = json.loads(result.stdout)
    return [event["message"] for event in answer["events"]]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("{ $.execution_id = 42 }", [0, 2]),
        ('{ $.level = "ERROR" }', [1]),
        ("{ $.latency = * }", [1]),
        ('{ $.tags[*] = "b" }', [2]),
        ("{ $.tags != 1 }", []),
        ("[ip, user, username, timestamp, request, status_code = 4*, bytes]", [3]),
        ("[..., status_code >= 400, bytes]", [3]),
        ("?REPORT ?frank", [3, 4]),
        ('"run succeeded"', [2]),
        ("", [0, 1, 2, 3, 4]),
    ],
)
def test_filter_log_events_applies_the_pattern(endpoint: str, pattern: str, expected: list[int]) -> None:
    assert filtered(endpoint, pattern) == [LINES[index] for index in expected]


def test_a_pattern_cloudwatch_refuses_is_refused(endpoint: str) -> None:
    result = aws(
        endpoint, "logs", "filter-log-events", "--log-group-name", GROUP, "--filter-pattern", "{ $.a > abc }"
    )
    assert result.returncode != 0
    assert "InvalidParameterException" in result.stderr


def test_get_log_events_and_the_describe_calls(endpoint: str) -> None:
    events = aws(endpoint, "logs", "get-log-events", "--log-group-name", GROUP, "--log-stream-name", STREAM)
    groups = aws(endpoint, "logs", "describe-log-groups", "--log-group-name-prefix", "/aws/lambda/")
    streams = aws(endpoint, "logs", "describe-log-streams", "--log-group-name", GROUP)

    assert [event["message"] for event in json.loads(events.stdout)["events"]] == LINES
    assert [group["logGroupName"] for group in json.loads(groups.stdout)["logGroups"]] == [GROUP]
    assert [stream["logStreamName"] for stream in json.loads(streams.stdout)["logStreams"]] == [STREAM]
