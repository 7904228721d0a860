"""One function's execution environment: a long-lived subprocess, invoked like Lambda invokes it.

Why a subprocess per function rather than all three in the runtime's own process: on Lambda each
function has its own interpreter, environment variables, memory and module state. A process each
gives the same here: its own environment from the template (JOBU_WORK_QUEUE_URL, ...), its own
`sys.modules` (the worker's handlers never load into the dispatchers), a real "Max Memory Used"
(the process's peak RSS), a measurable "Init Duration" on the cold start, warm reuse after it (the
process and its event loop, pools and clients stay), and a Lambda-like timeout: past the template's
Timeout the process is killed and the next invocation starts cold, as on Lambda.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import signal
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jobu_local.host.bootstrap import END_MARKER
from jobu_local.host.config import FunctionDefinition, FunctionError, Invocation, lambda_environment
from jobu_local.host.logs import LogEvent, LogSink, new_stream_name, now_ms

TOOLS_DIR = Path(__file__).resolve().parents[2]
LEVELS = {"TRACE": 0, "DEBUG": 1, "INFO": 2, "WARN": 3, "WARNING": 3, "ERROR": 4, "FATAL": 5, "CRITICAL": 5}
# The level of each platform record, for SystemLogLevel (at INFO, Lambda writes "start" and "report").
PLATFORM_LEVELS = {
    "platform.initStart": "INFO",
    "platform.start": "INFO",
    "platform.runtimeDone": "DEBUG",
    "platform.report": "INFO",
}
STREAM_LIMIT = 16 * 1024 * 1024
KILL_GRACE_SECONDS = 2.0


@dataclass
class FunctionProcess:
    config: FunctionDefinition
    sink: LogSink
    base_environment: dict[str, str] = field(default_factory=dict)
    _process: asyncio.subprocess.Process | None = None
    _stream: str = ""
    _lines: asyncio.Queue[tuple[int, str] | None] = field(default_factory=asyncio.Queue)
    _reader: asyncio.Task[None] | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    invocations: int = 0
    cold_starts: int = 0
    started_pids: list[int] = field(default_factory=list)  # every process this container ran

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None and self._process.returncode is None else None

    # --- life cycle ------------------------------------------------------------------------------

    def environment(self, stream: str) -> dict[str, str]:
        config = self.config
        python_path = [str(TOOLS_DIR), str(config.code_dir), *(str(layer) for layer in config.layer_dirs)]
        return {
            **self.base_environment,
            **config.environment,
            **lambda_environment(config, stream),
            "PYTHONPATH": os.pathsep.join(python_path),
            "JOBU_LOCAL_FUNCTION_ARN": config.arn,
            # set by Lambda's advanced logging controls; Powertools Logger follows AWS_LAMBDA_LOG_LEVEL
            **(
                {
                    "AWS_LAMBDA_LOG_FORMAT": "JSON",
                    "AWS_LAMBDA_LOG_LEVEL": config.application_log_level.upper(),
                }
                if config.json_logs
                else {}
            ),
        }

    async def _start(self) -> float:
        """Start a new execution environment (a cold start); returns its init duration in ms."""
        self._stream = new_stream_name()
        await asyncio.to_thread(self.sink.open_stream, self.config.log_group, self._stream)
        self._lines = asyncio.Queue()
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "jobu_local.host.bootstrap",
            self.config.handler,
            cwd=self.config.code_dir,
            env=self.environment(self._stream),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=STREAM_LIMIT,
            start_new_session=True,  # Ctrl-C in the terminal reaches the runtime, which stops us
        )
        self._reader = asyncio.create_task(self._read_logs(self._process))
        self.cold_starts += 1
        self.started_pids.append(self._process.pid)
        runtime_version = f"{self.config.runtime.replace('python', 'python:')}.local"
        self._platform(
            "platform.initStart",
            {
                "initializationType": "on-demand",
                "phase": "init",
                "runtimeVersion": runtime_version,
                "functionName": self.config.name,
                "functionVersion": "$LATEST",
            },
            f"INIT_START Runtime Version: {runtime_version}",
        )
        await self._drain_logs("init")
        ready = await self._answer()
        if not ready.get("ready"):
            await self.stop()
            error = ready.get("error") or {"errorMessage": "the runtime exited during init"}
            self._emit(f"[ERROR] {error.get('errorType')}: {error.get('errorMessage')}")
            raise FunctionError(f"{self.config.logical_id} failed to initialise: {error.get('errorMessage')}")
        return float(ready["init_ms"])

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), KILL_GRACE_SECONDS)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        if self._reader is not None:
            await self._reader
            self._reader = None
        await self.sink.flush()

    async def _kill(self) -> None:
        process = self._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        await self.stop()

    # --- invocation ------------------------------------------------------------------------------

    async def invoke(self, event: dict[str, Any]) -> Invocation:
        async with self._lock:
            return await self._invoke(event)

    async def _invoke(self, event: dict[str, Any]) -> Invocation:
        init_ms: float | None = None
        if self._process is None or self._process.returncode is not None:
            init_ms = await self._start()
        request_id = str(uuid.uuid4())
        self.invocations += 1
        started = now_ms()
        deadline_ms = started + self.config.timeout_seconds * 1000
        self._platform(
            "platform.start",
            {"requestId": request_id, "version": "$LATEST"},
            f"START RequestId: {request_id} Version: $LATEST",
        )
        await self._send({"request_id": request_id, "event": event, "deadline_ms": deadline_ms})
        try:
            answer = await asyncio.wait_for(self._answer(), self.config.timeout_seconds)
        except TimeoutError:
            return await self._timed_out(request_id, started, init_ms)
        if not answer:
            return await self._died(request_id, started, init_ms)
        await self._drain_logs(request_id)
        ok = bool(answer.get("ok"))
        error = answer.get("error")
        if error is not None:
            self._emit_error(request_id, error)
        self._end(request_id, answer["duration_ms"], init_ms, answer["max_memory_used_mb"])
        self.sink.flush_soon()
        return Invocation(
            request_id=request_id,
            ok=ok,
            result=answer.get("result"),
            error=error,
            duration_ms=answer["duration_ms"],
            init_ms=init_ms,
            status="success" if ok else "error",
            log_stream=self._stream,
        )

    async def _timed_out(self, request_id: str, started: int, init_ms: float | None) -> Invocation:
        stream = self._stream
        await self._kill_and_collect(request_id)
        self._emit(
            f"{_iso_now()} {request_id} Task timed out after {self.config.timeout_seconds:.2f} seconds"
        )
        duration = float(now_ms() - started)
        self._end(request_id, duration, init_ms, None, status="timeout")
        self.sink.flush_soon()
        error = {
            "errorType": "Sandbox.Timedout",
            "errorMessage": f"Task timed out after {duration / 1000:.2f} s",
        }
        return Invocation(request_id, False, None, error, duration, init_ms, "timeout", stream)

    async def _died(self, request_id: str, started: int, init_ms: float | None) -> Invocation:
        stream = self._stream
        process = self._process
        code = process.returncode if process is not None else None
        await self._kill_and_collect(request_id)
        message = f"RequestId: {request_id} Error: Runtime exited with error: exit status {code}"
        self._emit(message)
        duration = float(now_ms() - started)
        self._end(request_id, duration, init_ms, None, status="error")
        self.sink.flush_soon()
        error = {"errorType": "Runtime.ExitError", "errorMessage": message}
        return Invocation(request_id, False, None, error, duration, init_ms, "error", stream)

    async def _kill_and_collect(self, request_id: str) -> None:
        stream = self._stream
        await self._kill()
        while not self._lines.empty():
            item = self._lines.get_nowait()
            if item is not None and not item[1].startswith(END_MARKER):
                self.sink.emit(self.config.log_group, stream, LogEvent(*item))

    # --- plumbing --------------------------------------------------------------------------------

    async def _send(self, message: dict[str, Any]) -> None:
        stdin = self._pipe().stdin
        assert stdin is not None
        stdin.write(json.dumps(message).encode() + b"\n")
        await stdin.drain()

    async def _answer(self) -> dict[str, Any]:
        stdout = self._pipe().stdout
        assert stdout is not None
        line = await stdout.readline()
        if not line:
            return {}
        answer: dict[str, Any] = json.loads(line)
        return answer

    def _pipe(self) -> asyncio.subprocess.Process:
        if self._process is None:
            raise FunctionError(f"{self.config.logical_id}: no running process")
        return self._process

    async def _read_logs(self, process: asyncio.subprocess.Process) -> None:
        assert process.stderr is not None
        lines = self._lines
        while raw := await process.stderr.readline():
            await lines.put((now_ms(), raw.decode(errors="replace").rstrip("\n")))
        await lines.put(None)

    async def _drain_logs(self, request_id: str) -> None:
        """Move the function's log lines to the sink until the end marker of `request_id`."""
        marker = f"{END_MARKER}{request_id}"
        while (item := await self._lines.get()) is not None:
            timestamp, line = item
            if line == marker:
                return
            if not line.startswith(END_MARKER):
                self._emit(line, timestamp)

    def _emit(self, message: str, timestamp_ms: int | None = None) -> None:
        event = LogEvent(timestamp_ms if timestamp_ms is not None else now_ms(), message)
        self.sink.emit(self.config.log_group, self._stream, event)

    def _emit_error(self, request_id: str, error: dict[str, Any]) -> None:
        trace = "".join(error.get("stackTrace") or [])
        self._emit(
            f"[ERROR] {error.get('errorType')}: {error.get('errorMessage')}\n"
            f"Traceback (most recent call last):\n{trace}".rstrip("\n")
        )

    def _end(
        self,
        request_id: str,
        duration_ms: float,
        init_ms: float | None,
        memory_mb: int | None,
        status: str = "",
    ) -> None:
        done = {
            "requestId": request_id,
            "status": status or "success",
            "metrics": {"durationMs": round(duration_ms, 3)},
        }
        self._platform("platform.runtimeDone", done, f"END RequestId: {request_id}")
        metrics: dict[str, Any] = {
            "durationMs": round(duration_ms, 3),
            "billedDurationMs": math.ceil(duration_ms + (init_ms or 0.0)),
            "memorySizeMB": self.config.memory_mb,
            "maxMemoryUsedMB": memory_mb if memory_mb is not None else self.config.memory_mb,
        }
        if init_ms is not None:
            metrics["initDurationMs"] = round(init_ms, 3)
        text = report_line(
            request_id,
            duration_ms,
            memory_size_mb=self.config.memory_mb,
            max_memory_used_mb=memory_mb,
            init_ms=init_ms,
            status=status,
        )
        report = {"requestId": request_id, "metrics": metrics, "status": status or "success"}
        self._platform("platform.report", report, text)

    def _platform(self, kind: str, record: dict[str, Any], text: str) -> None:
        """A line Lambda itself writes: text (LogFormat Text), or a JSON record filtered by SystemLogLevel."""
        if not self.config.json_logs:
            self._emit(text)
        elif LEVELS[PLATFORM_LEVELS[kind]] >= LEVELS.get(
            self.config.system_log_level.upper(), LEVELS["INFO"]
        ):
            self._emit(
                json.dumps({"time": _iso_now(), "type": kind, "record": record}, separators=(",", ":"))
            )


def report_line(
    request_id: str,
    duration_ms: float,
    *,
    memory_size_mb: int,
    max_memory_used_mb: int | None,
    init_ms: float | None,
    status: str = "",
) -> str:
    """Lambda's REPORT line. Since August 2025 Lambda bills the INIT phase of managed runtimes too."""
    billed = math.ceil(duration_ms + (init_ms or 0.0))
    parts = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {billed} ms",
        f"Memory Size: {memory_size_mb} MB",
        f"Max Memory Used: {max_memory_used_mb if max_memory_used_mb is not None else memory_size_mb} MB",
    ]
    if init_ms is not None:
        parts.append(f"Init Duration: {init_ms:.2f} ms")
    if status in {"timeout", "error"}:
        parts.append(f"Status: {status}")
    return "\t".join(parts) + "\t"


def _iso_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
