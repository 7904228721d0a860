"""The local runtime's CloudWatch Logs outlive it: a restarted `jobu local up` (same state folder,
same database) still has every line of the runs from before, for `jobu logs` and the run page; a new
database does not inherit the old database's lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobu_local.commands.cli import main as jobu
from jobu_local.commands.produce import send
from jobu_local.dashboard.run_logs import RunLogSource
from jobu_local.runtime.runtime import LocalRuntime
from tests.e2e.conftest import TOPIC, StartRuntime, job_message, runs_succeeded, wait_for

FUNCTIONS = ["queue-dispatcher", "worker", "admin-api"]  # the admin API: the dashboard runs beside it


def _run_log_source(runtime: LocalRuntime) -> RunLogSource:
    assert runtime.dashboard is not None
    source = runtime.dashboard.config.logs
    assert source is not None
    return source


async def test_a_restarted_runtime_keeps_the_lines_of_runs_from_before(
    start_runtime: StartRuntime,
    sqlite_url: str,
    state_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("JOBU_LOCAL_STATE_DIR", str(state_dir))
    first = await start_runtime(sqlite_url, functions=FUNCTIONS)
    await send(first.bootstrap_servers, TOPIC, job_message(name="before the restart"))
    (run,) = await runs_succeeded(sqlite_url, 1)

    async def worker_lines() -> list[dict[str, object]]:
        jobu(["logs", "worker", "--execution-id", str(run.id), "--since", "1h", "--json"])
        events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        return events if any("run succeeded" in str(event["message"]) for event in events) else []

    before = await wait_for(worker_lines, what="the run's lines in CloudWatch Logs")
    await first.stop()

    second = await start_runtime(sqlite_url, functions=FUNCTIONS)
    after = await worker_lines()
    jobu(["logs", "worker", "--execution-id", str(run.id), "--since", "1h", "--format", "pretty"])
    shown = capsys.readouterr().out.splitlines()
    page = _run_log_source(second).lines(run.id, run.created_at, run.finished_at)

    assert [event["message"] for event in after] == [event["message"] for event in before]
    assert any(f"WorkerFunction INFO     run succeeded  [run={run.id} " in line for line in shown)
    assert "run succeeded" in "\n".join(line["message"] for line in page["lines"])
    assert page["gone"] is None
    await second.stop()

    # a new database: its run 1 is another run, and the old run 1's lines are not its
    fresh = f"sqlite:///{state_dir.parent / 'new.db'}"
    third = await start_runtime(fresh, functions=FUNCTIONS)
    capsys.readouterr()
    jobu(["logs", "worker", "--execution-id", str(run.id), "--since", "1h", "--json"])
    assert capsys.readouterr().out == ""
    assert _run_log_source(third).gone(run.created_at) is not None  # the page says those lines are gone
