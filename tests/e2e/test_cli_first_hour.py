"""The first hour with `jobu`, through the real `jobu` process: what a new user met, and now meets.

Errors are one line (`jobu: ...`), output meant for programs (--json) is only that, stored text
reaches the terminal escaped, the dead-letter queue is redriven on the embedded emulator, and the
messages say what to do.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from jobu_local.runtime.state import STATE_FILE
from tests.conftest import run_jobu

pytestmark = pytest.mark.e2e


def one_line_error(result: object) -> str:
    """The one line a failed `jobu` printed on stderr, with nothing on stdout."""
    assert result.returncode != 0, result.stdout  # type: ignore[attr-defined]
    error: str = result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in error
    assert len(error.splitlines()) == 1, error
    assert error.startswith("jobu: ")
    return error.strip()


# --- start errors ------------------------------------------------------------------------------


def test_a_second_runtime_is_refused_in_one_line_and_leaves_the_first_ones_state(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    running = {  # a runtime that is running: this very process
        "pid": os.getpid(), "control_port": 1, "template": "template.yaml", "region": "us-east-1",
        "aws_endpoint_url": None, "aws_emulator": "moto", "kafka_bootstrap_servers": "127.0.0.1:1",
        "database_url": f"sqlite:///{tmp_path}/j.db",
    }  # fmt: skip
    (state / STATE_FILE).write_text(json.dumps(running))

    result = run_jobu("local", "up", "--no-dashboard", state_dir=state)
    assert one_line_error(result) == (
        f"jobu: a local runtime is already running (pid {os.getpid()}, state in {state})"
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert json.loads((state / STATE_FILE).read_text()) == running  # still the first one's


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_jobu(
            "local", "up", "--quiet", "--no-schedule", "--no-dashboard", "--http-port", str(port),
            "--database-url", f"sqlite:///{tmp_path}/j.db", state_dir=tmp_path / "state",
        )  # fmt: skip
    assert one_line_error(result) == (
        f"jobu: cannot serve the HTTP API on 127.0.0.1:{port} (Address already in use): "
        "pass --http-port N (0 for any free port)"
    )
    assert result.returncode == 1
    assert not (tmp_path / "state" / STATE_FILE).exists()
