"""`jobu demo` (make demo): the whole system on embedded defaults, from a cron job and a Kafka message
to the runs table and one run's CloudWatch log lines, then the admin API (curl, and the `jobu` CLI
through --api-url), then everything stopped.

It uses its own state folder (.jobu/demo/) and a fresh SQLite database there, so it runs beside a
`jobu local up` of your own without touching it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobu_local.aws.apigateway import DEFAULT_PORT as DEFAULT_HTTP_PORT
from jobu_local.commands import cron as cron_commands
from jobu_local.commands import runs as runs_commands
from jobu_local.commands import store as store_commands
from jobu_local.commands.admin_target import worker_timeouts
from jobu_local.commands.logs import logs_main
from jobu_local.commands.produce import send
from jobu_local.commands.targets import default_template
from jobu_local.commands.views import runs_table
from jobu_local.errors import JobuToolError
from jobu_local.runtime.runtime import LocalRuntime, RuntimeOptions
from jobu_local.runtime.state import (
    STATE_DIR_VARIABLE,
    STATE_FILE,
    StateError,
    StateLock,
    default_database_url,
    project_root,
)

if TYPE_CHECKING:
    from jobu.models import Execution


CRON_JOB = {
    "name": "demo-every-minute",
    "cron_expression": "* * * * *",
    "handler_name": "sample",
    "handler_params": {"name": "from cron", "action": "read"},
    "description": "registered by `make demo`",
}
EVENT_PARAMS = {"name": "from kafka", "action": "read"}
OVERRIDE_PARAMS = '{"name": "by hand"}'
FINISHED = {"SUCCESS", "FAILED", "TIMEOUT", "EXPIRED"}
STEPS = 8


class DemoFailed(JobuToolError):
    """The flow did not reach its end state; the message says where it stopped."""


class Demo:
    def __init__(self, *, timeout_seconds: float, directory: Path | None = None, serve: bool = False) -> None:
        self.serve = serve  # keep the runtime and its dashboard up after the flow, until Ctrl-C
        self.started = time.monotonic()
        self.deadline = self.started + timeout_seconds
        self.directory = directory or project_root() / ".jobu" / "demo"
        self.database_url = default_database_url(self.directory)
        self.step_number = 0

    def step(self, message: str) -> None:
        self.step_number += 1
        print(f"\n[{self.step_number}/{STEPS}] {message}", flush=True)

    def note(self, message: str) -> None:
        print(f"      {message}", flush=True)

    def elapsed(self) -> str:
        return f"{time.monotonic() - self.started:.1f} s"

    async def run(self) -> None:
        try:  # a demo still running there (--serve) keeps its folder
            StateLock.acquire(self.directory).release()
        except StateError as error:
            raise DemoFailed(str(error)) from None
        shutil.rmtree(self.directory, ignore_errors=True)
        self.directory.mkdir(parents=True)
        self.step(f"schema: applying the sqlite schema to {self.database_url}")
        async with store_commands.opened_store(self.database_url) as store:
            applied = await store.migrate()
        self.note(f"{len(applied)} migration(s) applied")
        job_id = await self.register_cron_job()
        self.step("runtime: starting the functions of template.yaml with moto server, Tansu and SQLite")
        runtime = LocalRuntime(self.options(), progress=self.note)
        try:
            await runtime.start()
            await self.flow(runtime, job_id)
            await self.show_dashboard(runtime)
        finally:
            print(f"\nstopping everything the demo started ... ({self.elapsed()})", flush=True)
            await runtime.stop()
            leftovers = [pid for pid in runtime.child_pids() if _alive(pid)]
            print(f"stopped: {'nothing left running' if not leftovers else f'STILL RUNNING: {leftovers}'}")

    def options(self) -> RuntimeOptions:
        return RuntimeOptions(
            template_path=default_template(),
            state_dir=self.directory,
            database_url=self.database_url,
            schedule=False,  # the demo ticks on demand, so it does not wait for the minute's tick
            http_port=0,  # any free port: the demo runs beside a `jobu local up` on the default one
            dashboard_port=0,
        )

    async def register_cron_job(self) -> int:
        from jobu.handler_manifest import known_handler_names
        from jobu.operations.audit import Actor
        from jobu.operations.cron_jobs import create as create_cron_job
        from jobu.operations.cron_jobs import parse_spec
        from jobu_local.principals import cli_principal
        from jobu_local.template.reader import LocalTemplate

        self.step(f"cron: registering {CRON_JOB['name']!r} ({CRON_JOB['cron_expression']}, handler sample)")
        # Registered as of just before this minute began, so its first slot (this minute) is due at
        # the first tick: the demo needs no wait for the next minute.
        registered = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(seconds=1)
        async with store_commands.opened_store(self.database_url) as store:
            job = await create_cron_job(
                store,
                parse_spec(dict(CRON_JOB)),
                known_handlers=known_handler_names(),
                worker_timeouts=worker_timeouts(LocalTemplate.load(default_template())),
                now=registered,
                actor=Actor(cli_principal()),
            )
        self.note(f"cron job {job.id}: next run at {job.next_run_at:%H:%M:%S} UTC")
        return job.id

    async def flow(self, runtime: LocalRuntime, job_id: int) -> None:
        self.step("tick + produce: the scheduler's tick and one Kafka message")
        tick = await runtime.tick()
        if not tick.ok:
            raise DemoFailed(f"the cron dispatcher failed: {tick.error}")
        self.note(
            f"tick {tick.request_id}: dispatched {len(tick.result['dispatched'])} run(s) of cron job {job_id}"
        )
        message = {"handler_name": "sample", "params": EVENT_PARAMS, "job_id": None}
        sent = await send(runtime.bootstrap_servers, "jobu-events", json.dumps(message).encode())
        self.note(f"produced to {sent}: {json.dumps(message)}")
        runs = await self.wait_for_runs()
        self.step("runs: `jobu runs`")
        print(runs_table(runs), flush=True)
        failed = [run for run in runs if run.status.value != "SUCCESS"]
        if failed:
            raise DemoFailed(
                f"run(s) did not succeed: {[(run.id, run.status.value, run.error_message) for run in failed]}"
            )
        await self.show_logs(runs[0].id)
        await self.call_admin_api(runtime, runs)

    async def show_dashboard(self, runtime: LocalRuntime) -> None:
        if runtime.dashboard is None:
            return
        if not self.serve:
            kept = "stops with the demo; `make demo ARGS=--serve` keeps it"
            print(f"\ndashboard: {runtime.dashboard.url} ({kept})")
            return
        print(f"\ndashboard: {runtime.dashboard.url}\nserving until Ctrl-C ...", flush=True)
        await asyncio.Event().wait()

    async def wait_for_runs(self, *, count: int = 2, waiting: str | None = None) -> list[Execution]:
        if waiting is None:
            self.step("waiting for both runs to finish (cron dispatcher, queue dispatcher -> SQS -> worker)")
        last = ""
        while True:
            runs = await store_commands.recent_runs(self.database_url, limit=10)
            summary = ", ".join(
                f"run {run.id} {run.status.value}" for run in sorted(runs, key=lambda r: r.id)
            )
            if summary != last and waiting is None:
                self.note(f"{self.elapsed()}: {summary or 'no runs yet'}")
                last = summary
            if len(runs) >= count and all(run.status.value in FINISHED for run in runs):
                return sorted(runs, key=lambda run: run.id)
            if time.monotonic() > self.deadline:
                raise DemoFailed(f"{waiting or 'runs'} not finished in time: {summary or 'none created'}")
            await asyncio.sleep(0.2)

    async def show_logs(self, execution_id: int) -> None:
        command = ["worker", "--execution-id", str(execution_id), "--with-requests", "--since", "5m"]
        self.step(f"logs: `jobu logs {' '.join(command)}` (CloudWatch Logs in moto server)")
        os.environ[STATE_DIR_VARIABLE] = str(self.directory)
        # the worker's log lines reach CloudWatch when its invocation ends, just after the run does
        while True:
            captured = await asyncio.to_thread(_capture, logs_main, [*command, "--json"])
            if (
                "platform.report" in captured
                or "REPORT RequestId" in captured
                or time.monotonic() > self.deadline
            ):
                break
            await asyncio.sleep(0.2)
        await asyncio.to_thread(logs_main, [*command, "--format", "pretty"])
        sys.stdout.flush()

    async def call_admin_api(self, runtime: LocalRuntime, runs: list[Execution]) -> None:
        if runtime.http_api is None:
            raise DemoFailed("the runtime serves no HTTP API: template.yaml has no HttpApi event")
        url = runtime.http_api.url
        self.step(f"admin API: {url} (AdminApiFunction behind the local HTTP API, as API Gateway serves it)")
        state_file = _shown(self.directory / STATE_FILE)
        print(
            f'$ curl -s -H "Authorization: Bearer $(jq -r .token {state_file})" {url}/api/crons', flush=True
        )
        print(await asyncio.to_thread(_get, f"{url}/api/crons", runtime.token), flush=True)
        run_now = ["cron", "run", str(CRON_JOB["name"]), "--params", OVERRIDE_PARAMS, "--api-url", url]
        print(f"\n$ jobu {' '.join(_quoted(run_now))}", flush=True)
        await asyncio.to_thread(_jobu, run_now)
        known = {run.id for run in runs}
        manual = await self.wait_for_runs(count=len(known) + 1, waiting="the run started by hand")
        (new,) = [run for run in manual if run.id not in known]
        show = ["runs", "show", str(new.id), "--api-url", url]
        print(f"\n$ jobu {' '.join(show)}", flush=True)
        await asyncio.to_thread(_jobu, show)
        print(
            f"\nthis API stops with the demo; `jobu local up` serves it on http://127.0.0.1:{DEFAULT_HTTP_PORT}\n"
            "and `--stack-name NAME` reaches a deployed stack's, signed with your AWS credentials",
            flush=True,
        )


def _get(url: str, token: str) -> str:
    """What `curl -s -H "Authorization: Bearer TOKEN" URL` prints (curl itself when it is installed)."""
    import subprocess
    import urllib.request

    authorization = f"Authorization: Bearer {token}"
    if shutil.which("curl"):
        command = ["curl", "-s", "-H", authorization, url]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(response.read().decode())


def _shown(path: Path) -> str:
    """`path` relative to the current folder when it is below it (as a user would type it)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _quoted(argv: list[str]) -> list[str]:
    return [f"'{part}'" if any(c in part for c in ' "{') else part for part in argv]


def _jobu(argv: list[str]) -> None:
    """An admin command as `jobu` runs it (in this process: the demo is the `jobu` command too)."""
    root = argparse.ArgumentParser(prog="jobu")
    commands = root.add_subparsers(dest="command", required=True)
    for module in (cron_commands, runs_commands):
        module.add_parser(commands)
    args = root.parse_args(argv)
    if args.run(args) != 0:
        raise DemoFailed(f"`jobu {' '.join(argv)}` failed")
    sys.stdout.flush()


def _capture(function: Callable[[list[str]], int], argv: list[str]) -> str:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        function(argv)
    return buffer.getvalue()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def run_demo(timeout_seconds: float = 50.0, *, serve: bool = False) -> int:
    demo = Demo(timeout_seconds=timeout_seconds, serve=serve)
    try:
        asyncio.run(demo.run())
    except DemoFailed as error:
        print(f"\ndemo FAILED after {demo.elapsed()}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ndemo interrupted; everything it started is stopped", file=sys.stderr)
        return 130
    print(f"\ndemo done in {demo.elapsed()}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    return run_demo(timeout_seconds=args.timeout, serve=args.serve)


def add_parser(commands: Any) -> None:
    demo = commands.add_parser("demo", help="the whole flow on embedded defaults, then stop (make demo)")
    demo.add_argument("--timeout", type=float, default=50.0, help="give up after this many seconds")
    demo.add_argument(
        "--serve", action="store_true", help="then keep the runtime and its dashboard up until Ctrl-C"
    )
    demo.set_defaults(run=cmd_demo)
