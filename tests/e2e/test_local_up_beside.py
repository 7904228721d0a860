"""`jobu local up` and the commands run beside it, as the real `jobu` processes a user starts
(issue 20, the first hour): a second `jobu local up` on the same state folder is refused and leaves
the running one whole; `jobu dashboard` with no option opens the running runtime's dashboard, and
one started for an API while the default port is taken serves on a free port.

This session holds the default ports (tests/conftest.py), as a developer's `jobu local up` would."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jobu_local.runtime.state import RuntimeState
from tests.e2e.conftest import wait_for
from tests.e2e.test_local_trust import left_open, modes

JOBU = Path(sys.executable).with_name("jobu")  # the console script `make` installs


class Jobu:
    """`jobu` processes with one state folder; the ones left running are stopped at the end."""

    def __init__(self, state: Path, logs: Path) -> None:
        self.environment = {**os.environ, "JOBU_LOCAL_STATE_DIR": str(state)}
        for name in ("AWS_ENDPOINT_URL", "KAFKA_BOOTSTRAP_SERVERS", "JOBU_DATABASE_URL"):
            self.environment.pop(name, None)
        self.logs = logs
        self.started: list[subprocess.Popen[str]] = []

    def start(self, *argv: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [str(JOBU), *argv],
            env=self.environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.started.append(process)
        return process

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(JOBU), *argv], env=self.environment, capture_output=True, text=True, timeout=120, check=False
        )

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if process.stdout is not None:
                process.stdout.close()


@pytest.fixture
def jobu(tmp_path: Path) -> Iterator[Jobu]:
    processes = Jobu(tmp_path / "state", tmp_path)
    yield processes
    processes.stop_all()


async def running(process: subprocess.Popen[str], state: Path) -> RuntimeState:
    async def written() -> RuntimeState | None:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        return RuntimeState.read(state)

    found: RuntimeState = await wait_for(written, within=60, what="the runtime's state file")
    return found


def line_with(process: subprocess.Popen[str], pattern: str) -> tuple[re.Match[str], list[str]]:
    """The first line of the process's output that matches, and the lines before it."""
    assert process.stdout is not None
    seen: list[str] = []
    for line in process.stdout:
        seen.append(line)
        if found := re.search(pattern, line):
            return found, seen
    raise AssertionError(f"no line matches {pattern!r}: {''.join(seen)}")


def get(url: str, headers: dict[str, str]) -> tuple[int, Any]:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
        return response.status, json.loads(response.read())


def local_up(jobu: Jobu, state: Path, function: str, database: Path) -> subprocess.Popen[str]:
    return jobu.start(
        "local", "up", function, "--quiet", "--no-schedule", "--state-dir", str(state),
        "--database-url", f"sqlite:///{database}", "--http-port", "0", "--dashboard-port", "0",
    )  # fmt: skip


async def test_a_second_local_up_on_the_same_state_folder_is_refused_and_harms_nothing(
    jobu: Jobu, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    left_open(state)  # 0755, and a stale state file readable by all
    first = local_up(jobu, state, "cron-dispatcher", tmp_path / "one.db")
    started = await running(first, state)
    written = (state / "runtime.json").read_text()

    second = jobu.run(
        "local", "up", "cron-dispatcher", "--quiet", "--no-schedule", "--state-dir", str(state),
        "--database-url", f"sqlite:///{tmp_path / 'two.db'}", "--http-port", "0", "--dashboard-port", "0",
    )  # fmt: skip

    assert second.returncode == 1
    assert second.stderr == (
        f"jobu: a local runtime is already running (pid {started.pid}, state in {state}): stop it first, "
        "or pass --state-dir for another one\n"
    )
    assert second.stdout == ""  # it started nothing, and stopped nothing
    assert not (tmp_path / "two.db").exists()
    assert (state / "runtime.json").read_text() == written  # the running runtime's state, untouched
    assert modes(state) == (0o700, 0o600)
    tick = jobu.run("tick", "--json")  # the other commands still find the runtime
    assert (tick.returncode, json.loads(tick.stdout)["ok"]) == (0, True), tick.stdout + tick.stderr

    first.send_signal(signal.SIGINT)
    assert first.wait(timeout=60) == 0
    assert not (state / "runtime.json").exists()  # its own state, removed by its own runtime


async def test_jobu_dashboard_beside_local_up_opens_the_running_one_or_takes_a_free_port(
    jobu: Jobu, tmp_path: Path, default_ports_held: list[int]
) -> None:
    state = tmp_path / "state"
    runtime = local_up(jobu, state, "admin-api", tmp_path / "jobu.db")
    started = await running(runtime, state)
    assert started.dashboard_url is not None
    assert started.http_api_url is not None

    # no option: the dashboard `jobu local up` serves (its port, whatever it is), with its token
    shown = jobu.run("dashboard")
    assert (shown.returncode, shown.stderr) == (0, ""), shown.stdout + shown.stderr
    assert f"jobu dashboard: `jobu local up` serves it: {started.dashboard_url}\n" in shown.stdout
    base, token = started.dashboard_url.split("/?token=")
    assert get(f"{base}/api/crons", {"X-Jobu-Dashboard-Token": token}) == (
        200,
        {"items": [], "total": 0, "page": 1, "size": 20, "pages": 0},
    )

    # a dashboard of its own for that API, without --port while the default one is taken
    assert 3001 in default_ports_held
    served = jobu.start("dashboard", "--api-url", started.http_api_url)
    found, before = line_with(served, r"jobu dashboard: (http://127\.0\.0\.1:(\d+))/\?token=(\S+)")
    assert "jobu dashboard: 127.0.0.1:3001 is taken: serving on a free port\n" in before
    assert f"jobu dashboard: admin API {started.http_api_url}, with the local runtime's token\n" in before
    assert found.group(2) != "3001"
    status, page = get(f"{found.group(1)}/api/crons", {"X-Jobu-Dashboard-Token": found.group(3)})
    assert (status, page["total"]) == (200, 0)
