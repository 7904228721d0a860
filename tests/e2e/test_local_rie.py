"""Lambda's own runtime interface: `sam build`'s x86_64 output run by the Runtime Interface Emulator
and awslambdaric (`make rie`), in an interpreter with nothing of the project's. The packaged
functions import, answer the events/ files, and run the main flow."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from jobu_local.commands.produce import send
from jobu_local.host.rie import RieContainer
from jobu_local.runtime.runtime import LocalRuntime
from tests.conftest import load_event
from tests.e2e.conftest import TOPIC, StartRuntime, add_due_cron_job, job_message, runs_succeeded

BUILD = Path(__file__).resolve().parents[2] / ".aws-sam" / "x86_64" / "build"


def built_from_the_build(runtime: LocalRuntime) -> None:
    for pool in runtime.functions.values():
        assert pool.config.code_dir.is_relative_to(BUILD)
        assert all(layer.is_relative_to(BUILD) for layer in pool.config.layer_dirs)
        assert all(isinstance(container, RieContainer) for container in pool.containers)


async def test_the_built_functions_answer_the_event_files(
    start_runtime: StartRuntime, sqlite_url: str
) -> None:
    runtime = await start_runtime(sqlite_url, rie=True)

    # the file's tick, sent now: a tick hours old would be refused (jobu.schedule_event)
    tick = {**load_event("cron_dispatcher_scheduler.json"), "scheduled_time": datetime.now(UTC).isoformat()}
    cron = await runtime.functions["CronDispatcherFunction"].invoke(tick)
    queue = await runtime.functions["QueueDispatcherFunction"].invoke(load_event("queue_dispatcher_msk.json"))
    worker = await runtime.functions["WorkerFunction"].invoke(load_event("worker_sqs.json"))

    built_from_the_build(runtime)
    assert (cron.ok, cron.error) == (True, None)
    assert set(cron.result) >= {"dispatched", "tick_time"}
    assert (queue.ok, queue.error) == (True, None)
    assert (worker.ok, worker.error) == (True, None)
    assert "batchItemFailures" in worker.result  # the event's run is not in this database: reported
    assert all(invocation.init_ms is not None for invocation in (cron, queue, worker))  # cold starts


async def test_the_main_flow_runs_under_the_emulator(start_runtime: StartRuntime, sqlite_url: str) -> None:
    job_id = await add_due_cron_job(sqlite_url, name="rie-every-minute")
    runtime = await start_runtime(sqlite_url, rie=True)

    tick = await runtime.tick()
    await send(runtime.bootstrap_servers, TOPIC, job_message(name="through awslambdaric"))

    # a tick that comes in the next minute (a slow start) also runs the slot before it (within 90 s)
    dispatched = tick.result["dispatched"]
    *cron_runs, event_run = await runs_succeeded(sqlite_url, len(dispatched) + 1, within=60)
    built_from_the_build(runtime)
    assert tick.ok
    assert 1 <= len(dispatched) <= 2
    assert [run.id for run in cron_runs] == dispatched
    assert (cron_runs[-1].job_id, event_run.params["name"]) == (job_id, "through awslambdaric")
    worker_calls = [inv for function, _, inv in runtime.invocations if function == "WorkerFunction"]
    assert worker_calls
    assert all(call.ok for call in worker_calls)
    assert json.dumps(worker_calls[0].result).startswith('{"batchItemFailures": []')
