"""The main job flow through the local runtime on embedded defaults (moto server, Tansu, SQLite):
a cron job ticked by the scheduler and a Kafka message both run on the worker, and their logs are
read back from CloudWatch Logs with filter patterns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobu.models import Execution
from jobu_local.commands.cli import main as jobu
from jobu_local.commands.produce import send
from tests.e2e.conftest import (
    TOPIC,
    StartRuntime,
    add_due_cron_job,
    committed_offsets,
    job_message,
    list_runs,
    wait_for,
)


async def test_cron_and_kafka_runs_finish_and_their_logs_read_back(
    start_runtime: StartRuntime,
    sqlite_url: str,
    state_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    job_id = await add_due_cron_job(sqlite_url)
    runtime = await start_runtime(
        sqlite_url, system_log_level="INFO"
    )  # the template's WARN hides start/report

    tick = await runtime.tick()
    sent = await send(runtime.bootstrap_servers, TOPIC, job_message(name="from kafka"))

    # a tick that comes in the next minute also runs the slot before it (reached within 90 s)
    dispatched = tick.result["dispatched"]

    async def both_done() -> list[Execution]:
        runs = await list_runs(sqlite_url)
        finished = all(run.status.value == "SUCCESS" for run in runs)
        return runs if finished and len(runs) == len(dispatched) + 1 else []

    runs = await wait_for(both_done, what="both runs to succeed")
    assert tick.ok
    assert 1 <= len(dispatched) <= 2
    *cron_runs, event_run = runs
    assert [run.id for run in cron_runs] == dispatched
    cron_run = cron_runs[-1]
    assert cron_run.job_id == job_id
    assert (cron_run.param_source, cron_run.params["name"]) == ("cron", "from cron")
    assert (event_run.param_source, event_run.params["name"]) == ("event", "from kafka")
    assert (event_run.source_partition, event_run.source_offset) == (sent.partition, sent.offset)
    # the Kafka source committed the record only after the dispatcher returned
    assert await committed_offsets(runtime.bootstrap_servers) == {sent.partition: sent.offset + 1}

    monkeypatch.setenv("JOBU_LOCAL_STATE_DIR", str(state_dir))
    capsys.readouterr()

    async def worker_logs() -> list[dict[str, object]]:
        jobu(["logs", "worker", "--execution-id", str(event_run.id), "--with-requests", "--json"])
        events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        return events if any("platform.report" in str(event["message"]) for event in events) else []

    events = await wait_for(worker_logs, what="the worker's platform.report record in CloudWatch Logs")
    lines = [json.loads(str(event["message"])) for event in events]  # LogFormat JSON: every line is JSON
    application = [line for line in lines if "type" not in line]
    platform = [line for line in lines if "type" in line]
    assert {line["execution_id"] for line in application} == {event_run.id}
    assert {line["message"] for line in application} >= {"run started", "run succeeded"}
    request_id = application[0]["function_request_id"]
    assert [line["type"] for line in platform] == [
        "platform.start",
        "platform.report",
    ]  # no runtimeDone at INFO
    assert lines[0]["record"] == {"requestId": request_id, "version": "$LATEST"}
    report = lines[-1]["record"]
    assert (report["requestId"], report["status"], report["metrics"]["memorySizeMB"]) == (
        request_id,
        "success",
        512,  # the template's WorkerMemorySize
    )
    assert report["metrics"]["billedDurationMs"] >= report["metrics"]["durationMs"] > 0
    assert {event["logGroupName"] for event in events} == {"/aws/lambda/jobu-WorkerFunction"}

    jobu(["logs", "--level", "ERROR", "--json"])
    assert capsys.readouterr().out == ""


async def test_warm_invocations_reuse_the_function_process(
    start_runtime: StartRuntime, sqlite_url: str
) -> None:
    runtime = await start_runtime(sqlite_url, functions=["cron-dispatcher"])

    first, second = await runtime.tick(), await runtime.tick()

    assert (first.ok, second.ok) == (True, True)
    assert first.init_ms is not None
    assert second.init_ms is None
    assert runtime.functions["CronDispatcherFunction"].cold_starts == 1
    assert set(runtime.functions) == {"CronDispatcherFunction"}
