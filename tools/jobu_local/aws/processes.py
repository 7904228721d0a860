"""The embedded services the runtime starts when nothing is configured: moto server and Tansu.

Each runs as a subprocess in its own session (so the terminal's Ctrl-C reaches only the runtime,
which then stops them in order) on a free loopback port, and is waited for with a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from jobu_local.aws.loopback import LOOPBACK
from jobu_local.errors import JobuToolError

READY_TIMEOUT_SECONDS = 30.0


class ServiceError(JobuToolError, RuntimeError):
    """A service could not be started or did not become ready in time."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


def port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return 200 <= int(response.status) < 300
    except OSError:
        return False


@dataclass
class Service:
    """A subprocess started by the runtime; `stop` ends it (SIGTERM, then SIGKILL)."""

    name: str
    command: list[str]
    ready: Callable[[], bool]
    log_path: Path | None = None
    environment: dict[str, str] | None = None  # None: this process's own
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def _spawn(self) -> subprocess.Popen[bytes]:
        output = open(self.log_path, "ab") if self.log_path is not None else subprocess.DEVNULL  # noqa: SIM115
        try:
            return subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                env=self.environment,
                start_new_session=True,
            )
        finally:
            if not isinstance(output, int):
                output.close()

    async def start(self, ready_within: float = READY_TIMEOUT_SECONDS) -> None:
        self.process = self._spawn()
        timeout = ready_within
        deadline = time.monotonic() + timeout
        while not await asyncio.to_thread(self.ready):
            if self.process.poll() is not None:
                raise ServiceError(
                    f"{self.name} exited with status {self.process.returncode}{self._log_hint()}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise ServiceError(f"{self.name} was not ready after {timeout:.0f} s{self._log_hint()}")
            await asyncio.sleep(0.05)

    def _log_hint(self) -> str:
        return f" (see {self.log_path})" if self.log_path is not None else ""

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None and self.process.poll() is None else None

    def stop(self, grace: float = 5.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def tools_environment() -> dict[str, str]:
    """This environment, with jobu_local importable in a child interpreter (installed or not)."""
    tools = str(Path(__file__).resolve().parents[2])
    existing = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([tools, existing] if existing else [tools])}
