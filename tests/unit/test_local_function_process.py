"""A function's local execution environment: cold start, warm reuse, errors, timeouts, log lines."""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from jobu_local.host.config import FunctionDefinition
from jobu_local.host.container import FunctionProcess, report_line
from tests.support.log_sink import MemoryLogSink

APP = """
import json, os, time
COUNT = 0
print("initialising")

def handler(event, context):
    global COUNT
    COUNT += 1
    remaining = context.get_remaining_time_in_millis()
    print(json.dumps({"level": "INFO", "message": "hello", "count": COUNT,
                      "request": context.aws_request_id, "remaining": remaining}))
    if event.get("fail"):
        raise ValueError("boom")
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("exit"):
        os._exit(3)
    return {"count": COUNT, "pid": os.getpid(), "setting": os.environ.get("MY_SETTING"),
            "memory": context.memory_limit_in_mb, "name": context.function_name}
"""
REPORT = re.compile(
    r"^REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: [0-9.]+ ms\tBilled Duration: \d+ ms\t"
    r"Memory Size: 256 MB\tMax Memory Used: \d+ MB\t"
    r"(?P<init>Init Duration: [0-9.]+ ms\t)?(?P<status>Status: \w+\t)?$"
)


@pytest.fixture
async def function(tmp_path: Path) -> AsyncIterator[FunctionProcess]:
    (tmp_path / "app.py").write_text(APP)
    config = FunctionDefinition(
        logical_id="ToyFunction",
        name="jobu-ToyFunction",
        handler="app.handler",
        code_dir=tmp_path,
        layer_dirs=(),
        timeout_seconds=2,
        memory_mb=256,
        environment={"MY_SETTING": "from-template"},
        region="us-east-1",
    )
    process = FunctionProcess(config, MemoryLogSink())
    yield process
    await process.stop()


def _lines(function: FunctionProcess) -> list[str]:
    assert isinstance(function.sink, MemoryLogSink)
    return function.sink.messages("/aws/lambda/jobu-ToyFunction")


async def test_cold_start_once_then_warm_reuse(function: FunctionProcess) -> None:
    first = await function.invoke({})
    second = await function.invoke({})

    assert (first.ok, second.ok) == (True, True)
    assert first.init_ms is not None
    assert second.init_ms is None
    assert first.result["pid"] == second.result["pid"]
    assert (first.result["count"], second.result["count"]) == (1, 2)
    assert first.result["setting"] == "from-template"
    assert (first.result["memory"], first.result["name"]) == (256, "jobu-ToyFunction")
    lines = _lines(function)
    assert lines[0].startswith("INIT_START Runtime Version: python:3.12")
    assert lines[1] == "initialising"
    assert lines[2] == f"START RequestId: {first.request_id} Version: $LATEST"
    assert '"count": 1' in lines[3]
    assert first.request_id in lines[3]
    assert lines[4] == f"END RequestId: {first.request_id}"
    cold, warm = (REPORT.match(line) for line in lines if line.startswith("REPORT"))
    assert cold is not None
    assert (cold["id"], bool(cold["init"])) == (first.request_id, True)
    assert warm is not None
    assert (warm["id"], warm["init"]) == (second.request_id, None)


async def test_remaining_time_comes_from_the_template_timeout(function: FunctionProcess) -> None:
    await function.invoke({})

    logged = next(line for line in _lines(function) if '"remaining"' in line)
    remaining = int(re.search(r'"remaining": (\d+)', logged).group(1))  # type: ignore[union-attr]
    assert 1000 < remaining <= 2000


async def test_an_error_fails_the_invocation_and_keeps_the_container(function: FunctionProcess) -> None:
    failed = await function.invoke({"fail": True})
    after = await function.invoke({})

    assert not failed.ok
    assert failed.error is not None
    assert (failed.error["errorType"], failed.error["errorMessage"]) == ("ValueError", "boom")
    assert any(line.startswith("[ERROR] ValueError: boom\nTraceback") for line in _lines(function))
    assert (after.ok, after.init_ms, after.result["count"]) == (True, None, 2)


async def test_a_timeout_kills_the_container_and_the_next_start_is_cold(function: FunctionProcess) -> None:
    first = await function.invoke({})
    timed_out = await function.invoke({"sleep": 10})
    after = await function.invoke({})

    assert (timed_out.status, timed_out.ok) == ("timeout", False)
    assert any(
        line.endswith(f"{timed_out.request_id} Task timed out after 2.00 seconds")
        for line in _lines(function)
    )
    report = next(
        line for line in _lines(function) if line.startswith(f"REPORT RequestId: {timed_out.request_id}")
    )
    assert "Status: timeout" in report
    assert after.ok
    assert after.init_ms is not None
    assert after.result["pid"] != first.result["pid"]
    assert function.cold_starts == 2


async def test_a_crashed_runtime_fails_the_invocation_and_restarts(function: FunctionProcess) -> None:
    crashed = await function.invoke({"exit": True})
    after = await function.invoke({})

    assert crashed.error is not None
    assert crashed.error["errorType"] == "Runtime.ExitError"
    assert after.ok
    assert after.init_ms is not None


async def test_stop_ends_the_process(function: FunctionProcess) -> None:
    await function.invoke({})
    pid = function.pid
    assert pid is not None

    await function.stop()

    assert function.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_report_line_has_lambdas_format() -> None:
    line = report_line("req", 12.344, memory_size_mb=512, max_memory_used_mb=80, init_ms=250.5)

    assert line == (
        "REPORT RequestId: req\tDuration: 12.34 ms\tBilled Duration: 263 ms\tMemory Size: 512 MB\t"
        "Max Memory Used: 80 MB\tInit Duration: 250.50 ms\t"
    )


@pytest.mark.parametrize(
    ("system_level", "expected"),
    [
        ("DEBUG", ["platform.initStart", "platform.start", "platform.runtimeDone", "platform.report"]),
        ("INFO", ["platform.initStart", "platform.start", "platform.report"]),
        ("WARN", []),
    ],
)
async def test_json_log_format_writes_platform_records_filtered_by_the_system_log_level(
    function: FunctionProcess, system_level: str, expected: list[str]
) -> None:
    function.config = replace(function.config, log_format="JSON", system_log_level=system_level)

    invocation = await function.invoke({})

    records = [json.loads(line) for line in _lines(function) if line.startswith('{"time"')]
    assert [record["type"] for record in records] == expected
    reports = [record["record"] for record in records if record["type"] == "platform.report"]
    for report in reports:
        assert report["requestId"] == invocation.request_id
        assert report["status"] == "success"
        assert set(report["metrics"]) == {
            "durationMs",
            "billedDurationMs",
            "memorySizeMB",
            "maxMemoryUsedMB",
            "initDurationMs",
        }
    assert any('"message": "hello"' in line for line in _lines(function))  # the function's own lines stay
