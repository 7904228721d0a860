"""The main job flow through the local runtime against LocalStack on the host (instead of the
embedded moto server), with the job store on the real PostgreSQL and MariaDB servers.

LocalStack is started by scripts/localstack.sh if it is not up; a LocalStack that cannot start
fails the test, it never skips. Each test names its resources with its own stack name, so tests
sharing one LocalStack do not see each other's queues or log groups.
"""

from __future__ import annotations

import json
import uuid

import pytest

from jobu.models import Execution
from jobu_local.commands.cli import main as jobu
from jobu_local.commands.produce import send
from tests.e2e.conftest import (
    TOPIC,
    StartRuntime,
    add_due_cron_job,
    job_message,
    list_runs,
    wait_for,
)

pytestmark = pytest.mark.localstack


@pytest.fixture(params=["postgres", "mysql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh database on the real PostgreSQL, then MariaDB, server."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


async def test_main_flow_on_localstack(
    database_url: str,
    localstack_endpoint: str,
    start_runtime: StartRuntime,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stack = f"e2e-{uuid.uuid4().hex[:8]}"
    job_id = await add_due_cron_job(database_url)
    runtime = await start_runtime(database_url, aws_endpoint_url=localstack_endpoint, stack_name=stack)
    assert runtime.aws is not None
    assert runtime.aws.emulator == "localstack"
    assert runtime.provider is not None
    assert runtime.provider.queue_urls["WorkQueue"].endswith(f"/{stack}-WorkQueue")

    tick = await runtime.tick()
    await send(runtime.bootstrap_servers, TOPIC, job_message(name="from kafka"))

    # a tick that comes in the next minute (a slow start) also runs the slot before it (within 90 s)
    dispatched = tick.result["dispatched"]

    async def both_done() -> list[Execution]:
        runs = await list_runs(database_url)
        finished = all(run.status.value == "SUCCESS" for run in runs)
        return runs if finished and len(runs) == len(dispatched) + 1 else []

    *cron_runs, event_run = await wait_for(both_done, within=40, what="both runs to succeed")
    assert tick.ok
    assert 1 <= len(dispatched) <= 2
    assert [run.id for run in cron_runs] == dispatched
    cron_run = cron_runs[-1]
    assert (cron_run.job_id, cron_run.param_source, event_run.param_source) == (job_id, "cron", "event")

    # `jobu logs` against LocalStack, which returns every event whatever the filter pattern (measured
    # with localstack-core 2026.3.0): the pattern is sent, and applied again by `jobu logs` itself
    monkeypatch.setenv("JOBU_LOCAL_STATE_DIR", str(runtime.options.state_dir))
    capsys.readouterr()

    async def worker_logs() -> list[dict[str, object]]:
        jobu(["logs", "worker", "--filter", f"{{ $.execution_id = {cron_run.id} }}", "--json"])
        events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        return events if any('"run succeeded"' in str(event["message"]) for event in events) else []

    events = await wait_for(worker_logs, what="the cron run's log lines in LocalStack's CloudWatch Logs")
    assert {event["logGroupName"] for event in events} == {f"/aws/lambda/{stack}-WorkerFunction"}
    assert {json.loads(str(event["message"]))["execution_id"] for event in events} == {cron_run.id}
