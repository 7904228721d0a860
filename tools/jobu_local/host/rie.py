"""Lambda's own runtime interface: a container that is the Runtime Interface Emulator (aws-lambda-rie,
from the SAM CLI package) running awslambdaric, the runtime client of Lambda's python images.

This is the closest this machine gets to `sam local invoke` without images: the function's code
and layers are `sam build`'s output (an x86_64 build on an x86_64 host, `make build-x86_64`), they
are imported by Lambda's own runtime client, the invocation goes through the Runtime API as on
Lambda, and the START / END / REPORT lines are the emulator's. The interpreter is `.venv-rie`
(`make rie`: awslambdaric and the AWS SDK the python3.12 runtime provides, nothing of the project's),
so a module missing from the build fails to import here as it would on Lambda.

Each container is one emulator process on a free loopback port; it serves one invocation at a time,
and the pool starts more of them under load, as for the process containers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobu_local.host.config import FunctionDefinition, Invocation, lambda_environment
from jobu_local.host.logs import LogEvent, LogSink, new_stream_name, now_ms

INVOKE_PATH = "/2015-03-31/functions/function/invocations"
READY_TIMEOUT_SECONDS = 10.0
KILL_GRACE_SECONDS = 2.0
LOOPBACK = "127.0.0.1"
_EMULATOR_OWN = re.compile(r"^\d{2} \w{3} \d{4} [\d:,]+ \[\w+\] \(rapid\) ")
_START = re.compile(r"^START RequestId: ([0-9a-f-]{36}) ")


@dataclass(frozen=True)
class RieSetup:
    emulator: Path  # the aws-lambda-rie binary
    python: Path  # an interpreter with awslambdaric (and boto3, as Lambda's runtime has)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class RieContainer:
    config: FunctionDefinition
    sink: LogSink
    setup: RieSetup
    base_environment: dict[str, str] = field(default_factory=dict)
    invocations: int = 0
    cold_starts: int = 0
    started_pids: list[int] = field(default_factory=list)
    _process: asyncio.subprocess.Process | None = None
    _port: int = 0
    _stream: str = ""
    _reader: asyncio.Task[None] | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _request_id: str = ""

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None and self._process.returncode is None else None

    def environment(self) -> dict[str, str]:
        config = self.config
        return {
            **self.base_environment,
            **config.environment,
            **lambda_environment(config, self._stream),
            "LAMBDA_RUNTIME_DIR": str(self.setup.python.parent),
            # /var/task, then the layers' /opt/python, as Lambda orders them
            "PYTHONPATH": os.pathsep.join([str(config.code_dir), *(str(d) for d in config.layer_dirs)]),
        }

    async def _start(self) -> float:
        started = time.monotonic()
        self._stream = new_stream_name()
        await asyncio.to_thread(self.sink.open_stream, self.config.log_group, self._stream)
        self._port = _free_port()
        self._process = await asyncio.create_subprocess_exec(
            str(self.setup.emulator),
            "--runtime-interface-emulator-address",
            f"{LOOPBACK}:{self._port}",
            # its Runtime API for awslambdaric: a port of its own (the default, 9001, is one per host)
            "--runtime-api-address",
            f"{LOOPBACK}:{_free_port()}",
            str(self.setup.python),
            "-m",
            "awslambdaric",
            self.config.handler,
            cwd=self.config.code_dir,
            env=self.environment(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        self.started_pids.append(self._process.pid)
        self.cold_starts += 1
        self._reader = asyncio.create_task(self._read_logs(self._process))
        await self._wait_until_listening()
        return (time.monotonic() - started) * 1000

    async def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while True:
            try:
                _, writer = await asyncio.open_connection(LOOPBACK, self._port)
            except OSError:
                if self._process is None or self._process.returncode is not None:
                    raise RuntimeError(f"{self.config.logical_id}: the emulator exited at start") from None
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.config.logical_id}: the emulator did not listen") from None
                await asyncio.sleep(0.02)
                continue
            writer.close()
            return

    async def _read_logs(self, process: asyncio.subprocess.Process) -> None:
        """The emulator's and the function's lines, as they come (the emulator writes START, END and
        REPORT around each invocation itself)."""
        assert process.stdout is not None
        while raw := await process.stdout.readline():
            line = raw.decode(errors="replace").rstrip("\n")
            if _EMULATOR_OWN.match(line):
                continue  # the emulator's own diagnostics, not lines Lambda writes to CloudWatch
            if started := _START.match(line):
                self._request_id = started.group(1)
            self.sink.emit(self.config.log_group, self._stream, LogEvent(now_ms(), line))

    async def invoke(self, event: dict[str, Any]) -> Invocation:
        async with self._lock:
            init_ms = None
            if self._process is None or self._process.returncode is not None:
                init_ms = await self._start()
            self.invocations += 1
            began = time.monotonic()
            status, body, error_header = await asyncio.to_thread(self._post, event)
            duration = (time.monotonic() - began) * 1000
            await asyncio.sleep(0)  # let the reader take the REPORT line the emulator just wrote
            self.sink.flush_soon()
            return self._outcome(status, body, error_header, duration, init_ms)

    def _post(self, event: dict[str, Any]) -> tuple[int, bytes, str | None]:
        request = urllib.request.Request(
            f"http://{LOOPBACK}:{self._port}{INVOKE_PATH}",
            data=json.dumps(event).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout_seconds + 5) as response:
                return response.status, response.read(), response.headers.get("X-Amz-Function-Error")
        except urllib.error.HTTPError as error:
            return error.code, error.read(), error.headers.get("X-Amz-Function-Error")
        except (TimeoutError, urllib.error.URLError) as error:
            return (
                0,
                json.dumps({"errorType": "Sandbox.Timedout", "errorMessage": str(error)}).encode(),
                "timeout",
            )

    def _outcome(
        self, status: int, body: bytes, error_header: str | None, duration: float, init_ms: float | None
    ) -> Invocation:
        request_id = str(uuid.uuid4())
        try:
            payload: Any = json.loads(body) if body else None
        except ValueError:
            payload = {"errorType": "Runtime.InvalidResponse", "errorMessage": body.decode(errors="replace")}
        failed = status != 200 or error_header is not None or _is_error(payload)
        if not failed:
            return Invocation(
                request_id,
                True,
                result=payload,
                duration_ms=duration,
                init_ms=init_ms,
                log_stream=self._stream,
            )
        kind = "timeout" if "Timedout" in str(payload) or error_header == "timeout" else "error"
        error = payload if isinstance(payload, dict) else {"errorMessage": str(payload)}
        return Invocation(
            request_id,
            False,
            error=error,
            duration_ms=duration,
            init_ms=init_ms,
            status=kind,
            log_stream=self._stream,
        )

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), KILL_GRACE_SECONDS)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
        if self._reader is not None:
            await self._reader
            self._reader = None
        await self.sink.flush()


def _is_error(payload: Any) -> bool:
    """awslambdaric answers an unhandled exception with {errorMessage, errorType, stackTrace}."""
    return (
        isinstance(payload, dict)
        and set(payload) >= {"errorMessage", "errorType"}
        and "statusCode" not in payload
    )
