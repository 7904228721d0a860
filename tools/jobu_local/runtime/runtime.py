"""The local runtime: template.yaml's functions, run on one machine with AWS's parts played locally.

`LocalRuntime.start()` brings up, in order: the job store's schema (SQLite unless a database URL is
given), the AWS emulator (moto server, unless AWS_ENDPOINT_URL names one; its CloudWatch Logs kept
in the state folder, aws/cloudwatch/journal.py), the template's queues and log groups in it, the
Kafka broker (Tansu, unless KAFKA_BOOTSTRAP_SERVERS is set) and its topics, one process per
function, and the event sources. `stop()` undoes all of it, in
reverse order; `run()` does both around waiting for Ctrl-C / SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import os
import secrets
import signal
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from jobu_local.aws.apigateway import DEFAULT_PORT as DEFAULT_HTTP_PORT
from jobu_local.aws.apigateway import HttpApiServer, routes_for
from jobu_local.aws.cloudwatch import journal
from jobu_local.aws.cloudwatch.journal import journal_path, kept_since_ms
from jobu_local.aws.cloudwatch.sink import CloudWatchLogSink
from jobu_local.aws.endpoint import AwsTarget, moto_server
from jobu_local.aws.kafka.broker import embedded_broker, ensure_topics
from jobu_local.aws.kafka.mapping import FailureSink, KafkaRunner, failure_record
from jobu_local.aws.loopback import LOOPBACK
from jobu_local.aws.processes import Service, free_port, http_ok
from jobu_local.aws.resources import EmulatorProvider, create_resources
from jobu_local.aws.scheduler import ScheduleRunner
from jobu_local.aws.sqs import SqsRunner, sqs_concurrency
from jobu_local.dashboard.run_logs import RunLogSource
from jobu_local.dashboard.server import DEFAULT_PORT as DEFAULT_DASHBOARD_PORT
from jobu_local.dashboard.server import DashboardConfig, DashboardServer
from jobu_local.errors import JobuToolError
from jobu_local.host.config import FunctionDefinition, Invocation
from jobu_local.host.logs import LogSink
from jobu_local.host.pool import Container, FunctionPool, concurrency_limit, process_container
from jobu_local.host.rie import RieContainer, RieSetup
from jobu_local.runtime.state import (
    RuntimeState,
    StateError,
    StateLock,
    default_database_url,
    project_root,
    state_dir,
)
from jobu_local.template.reader import ACCOUNT_ID, FunctionSpec, KafkaSource, LocalTemplate

DATABASE_URL = "JOBU_DATABASE_URL"
DATABASE_SECRET_ARN = "JOBU_DATABASE_SECRET_ARN"
READY_TIMEOUT_SECONDS = 30.0
FIRST_MIGRATION = "001_jobs.sql"  # applied now: the database is new
# What a function process inherits from the runtime's own environment (Lambda's is clean too).
INHERITED = ("PATH", "LANG", "LC_ALL", "HOME", "TMPDIR")
# No X-Ray daemon runs locally: tracing (Tracing: Active in the template) is switched off.
LOCAL_ONLY = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "AWS_XRAY_SDK_ENABLED": "false",
    # notification webhooks may be http to this machine here (a receiver on loopback): jobu.notifications
    "JOBU_NOTIFY_LOOPBACK_HTTP": "allow",
}

Progress = Callable[[str], None]


def _silent(_message: str) -> None:
    return None


class RuntimeStartError(JobuToolError):
    """The runtime could not start; the message says which part and why."""


@dataclass
class RuntimeOptions:
    template_path: Path
    functions: Sequence[str] = ()  # empty: all of them
    state_dir: Path | None = None
    database_url: str | None = None
    aws_endpoint_url: str | None = None
    kafka_bootstrap_servers: str | None = None
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    region: str | None = None
    stack_name: str | None = None  # names of functions, queues, log groups (default: samconfig's, else jobu)
    schedule: bool = True  # tick at the template's rate (on-demand ticks work either way)
    schedule_interval_seconds: float | None = None
    function_environment: dict[str, dict[str, str]] = field(default_factory=dict)
    echo_logs: bool = False
    system_log_level: str | None = None  # overrides the template's LoggingConfig.SystemLogLevel
    kafka_retry_base_seconds: float = 0.5
    # At most this many containers per function (1: one invocation at a time per function, the
    # baseline of bench/local_e2e.py); None: as the template allows, like Lambda.
    max_concurrency: int | None = None
    http_port: int = DEFAULT_HTTP_PORT  # the HttpApi events' port (0: any free one)
    # the dashboard over the HTTP API (jobu_local.dashboard), on this port (0: any free one; None: none)
    dashboard_port: int | None = DEFAULT_DASHBOARD_PORT
    # Lambda's runtime interface emulator and awslambdaric on `sam build`'s x86_64 output instead of
    # the process host on the source tree (jobu_local.host.rie; `make rie` prepares it)
    rie: bool = False
    rie_build_dir: Path | None = None  # default: <project>/.aws-sam/x86_64/build
    rie_emulator: Path | None = None  # default: the SAM CLI's aws-lambda-rie-x86_64 in .venv-tools
    rie_python: Path | None = None  # default: <project>/.venv-rie/bin/python

    @classmethod
    def from_environment(cls, template_path: Path, **overrides: Any) -> RuntimeOptions:
        options = cls(
            template_path=template_path,
            database_url=os.environ.get(DATABASE_URL) or None,
            aws_endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None,
            kafka_bootstrap_servers=os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or None,
            region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None,
        )
        for name, value in overrides.items():
            if value is not None:
                setattr(options, name, value)
        return options


@dataclass
class LocalRuntime:
    options: RuntimeOptions
    progress: Progress = _silent
    template: LocalTemplate | None = None
    aws: AwsTarget | None = None
    provider: EmulatorProvider | None = None
    bootstrap_servers: str = ""
    database_url: str = ""
    functions: dict[str, FunctionPool] = field(default_factory=dict)
    schedules: list[ScheduleRunner] = field(default_factory=list)
    kafka_runners: list[KafkaRunner] = field(default_factory=list)
    sqs_runners: list[SqsRunner] = field(default_factory=list)
    http_api: HttpApiServer | None = None
    dashboard: DashboardServer | None = None
    invocations: list[tuple[str, str, Invocation]] = field(default_factory=list)
    _services: list[Service] = field(default_factory=list)
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    _control: asyncio.Server | None = None
    _control_port: int = 0
    _state_dir: Path = Path()
    _lock: StateLock | None = None
    # what the HTTP API and the dashboard ask for, in the state file for the CLI (secrets' 256 bits)
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    # the HTTP API's read-only token: GET requests only, as the template's viewer policy allows
    viewer_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    _executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=64, thread_name_prefix="jobu-local-aws")
    )

    # --- start -----------------------------------------------------------------------------------

    async def start(self) -> None:
        self._state_dir = state_dir(self.options.state_dir)
        try:  # before anything starts: a refused runtime has nothing to undo, and undoes nothing
            self._lock = StateLock.acquire(self._state_dir)
        except StateError as error:
            raise RuntimeStartError(str(error)) from None
        (self._state_dir / ".gitignore").write_text("*\n")
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        started = time.monotonic()
        options = self.options
        new_container = process_container
        template_path = options.template_path
        if options.rie:
            setup, template_path = rie_setup(options)
            self.progress(f"functions under Lambda's runtime interface emulator, from {template_path.parent}")

            def new_container(
                config: FunctionDefinition, sink: LogSink, environment: dict[str, str]
            ) -> Container:
                return RieContainer(config, sink, setup, base_environment=environment)

        template = LocalTemplate.load(
            template_path,
            parameter_overrides=options.parameter_overrides,
            region=options.region,
            stack_name=options.stack_name,
        )
        self.template = template
        self._selected(template)  # refuse an unknown function name before starting anything
        # the database first: a new one starts a new log journal before the emulator loads it
        self.database_url = await self._prepare_database()
        self.aws = await self._start_aws(template.region)
        self.provider = await asyncio.to_thread(create_resources, template, self.aws)
        specs = self._selected(template)  # now Refs to queues resolve to the emulator's URLs
        names = ", ".join(spec.logical_id for spec in specs)
        self.progress(f"template {options.template_path.name}: running {names}")
        for logical_id, url in self.provider.queue_urls.items():
            self.progress(f"queue {logical_id}: {url}")
        self.bootstrap_servers = await self._start_kafka(template.kafka_topics())
        sink = CloudWatchLogSink(self.aws.client("logs"), echo=sys.stdout if options.echo_logs else None)
        inherited = {name: os.environ[name] for name in INHERITED if name in os.environ}
        base = inherited | self.aws.function_environment() | LOCAL_ONLY
        for spec in specs:
            config = replace(
                spec.config,
                environment=self._environment(spec),
                system_log_level=options.system_log_level or spec.config.system_log_level,
            )
            limit = concurrency_limit(config, options.max_concurrency)
            self.functions[spec.logical_id] = FunctionPool(
                config, sink, base_environment=base, limit=limit, new_container=new_container
            )
        await self._start_sources(specs)
        await self._start_control()
        self._write_state()
        self.progress(f"ready in {time.monotonic() - started:.1f} s")

    def _selected(self, template: LocalTemplate) -> list[FunctionSpec]:
        if not self.options.functions:
            return template.functions()
        return [template.find_function(name) for name in self.options.functions]

    async def _start_aws(self, region: str) -> AwsTarget:
        endpoint = self.options.aws_endpoint_url
        if endpoint is not None:
            emulator = (
                "localstack"
                if await asyncio.to_thread(http_ok, f"{endpoint}/_localstack/health")
                else "external"
            )
            self.progress(f"AWS APIs: {emulator} at {endpoint}")
            return AwsTarget(endpoint, region, emulator)
        port = free_port()
        service = moto_server(port, self._state_dir / "moto.log", logs_journal=journal_path(self._state_dir))
        self._services.append(service)
        self.progress("starting moto server (embedded AWS emulator) ...")
        await service.start()
        endpoint = f"http://{LOOPBACK}:{port}"
        self.progress(f"AWS APIs: moto server at {endpoint} (pid {service.pid})")
        return AwsTarget(endpoint, region, "moto")

    async def _start_kafka(self, topics: list[str]) -> str:
        servers = self.options.kafka_bootstrap_servers
        if servers is None and not topics:
            return ""  # no Kafka event source: no broker
        if servers is None:
            port = free_port()
            self.progress("starting the Tansu Kafka broker ...")
            for service in embedded_broker(port, self._state_dir):
                self._services.append(service)
                await service.start()
            servers = f"{LOOPBACK}:{port}"
            self.progress(f"Kafka: Tansu broker at {servers} (any Kafka client: kcat -b {servers} -L)")
        else:
            self.progress(f"Kafka: {servers}")
        if topics:
            await ensure_topics(servers, topics)
            self.progress(f"Kafka topics: {', '.join(topics)}")
        return servers

    async def _prepare_database(self) -> str:
        url = self.options.database_url or default_database_url(self._state_dir)
        from jobu.store import open_store

        store = await open_store(url)
        try:
            applied = await store.migrate()
        finally:
            await store.close()
        if FIRST_MIGRATION in applied:
            # a new database: run ids start again, and the old journal's lines are no run's of it
            journal.start_new(journal_path(self._state_dir))
        shown = url.split("@")[-1] if "@" in url else url
        self.progress(f"database: {shown} (schema: {len(applied)} migration(s) applied)")
        return url

    def _environment(self, spec: FunctionSpec) -> dict[str, str]:
        """The template's variables; the database is the local one (a URL, not a secret ARN)."""
        variables = dict(spec.config.environment)
        if DATABASE_URL in variables or DATABASE_SECRET_ARN in variables:
            variables.pop(DATABASE_SECRET_ARN, None)
            variables[DATABASE_URL] = self.database_url
        return variables | self.options.function_environment.get(spec.logical_id, {})

    async def _start_sources(self, specs: list[FunctionSpec]) -> None:
        template, provider, aws = self._started()
        for spec in specs:
            process = self.functions[spec.logical_id]
            for schedule in spec.schedules:
                runner = ScheduleRunner(
                    schedule,
                    process,
                    template.region,
                    ACCOUNT_ID,
                    self.options.schedule_interval_seconds,
                    observe=self._observer(spec.logical_id),
                )
                self.schedules.append(runner)
                if schedule.enabled and self.options.schedule:
                    self._tasks.append(asyncio.create_task(runner.run(), name=f"schedule {schedule.name}"))
                    self.progress(f"{spec.logical_id} <- schedule {schedule.expression}")
            for kafka in spec.kafka:
                kafka_runner = KafkaRunner(
                    kafka,
                    process,
                    self.bootstrap_servers,
                    observe=self._observer(spec.logical_id),
                    retry_base_seconds=self.options.kafka_retry_base_seconds,
                    on_failure=self._failure_destination(kafka, process.config.arn),
                )
                self.kafka_runners.append(kafka_runner)
                if kafka.enabled:
                    self._tasks.append(asyncio.create_task(kafka_runner.run(), name=f"kafka {kafka.name}"))
            for sqs in spec.sqs:
                url = provider.ensure_queue(sqs.queue_logical_id)
                sqs_runner = SqsRunner(
                    sqs,
                    process,
                    aws.client("sqs"),
                    url,
                    provider.queue_arns[sqs.queue_logical_id],
                    template.region,
                    observe=self._observer(spec.logical_id),
                    concurrency=sqs_concurrency(sqs, process.limit),
                    executor=self._executor,
                )
                self.sqs_runners.append(sqs_runner)
                if sqs.enabled:
                    self._tasks.append(asyncio.create_task(sqs_runner.run(), name=f"sqs {sqs.name}"))
                    self.progress(
                        f"{spec.logical_id} <- SQS {sqs.queue_logical_id} "
                        f"(batch {sqs.batch_size}, up to {sqs_runner.concurrency} at once)"
                    )
        await self._wait_for_kafka()
        self._start_http_api(specs)

    def _start_http_api(self, specs: list[FunctionSpec]) -> None:
        routes = [
            routes_for(source, self.functions[spec.logical_id], spec.logical_id)
            for spec in specs
            for source in spec.http_apis
        ]
        if not routes:
            return
        template, _, _ = self._started()
        server = HttpApiServer(
            routes,
            LOOPBACK,
            self.options.http_port,
            template.region,
            ACCOUNT_ID,
            asyncio.get_running_loop(),
            token=self.token,
            viewer_token=self.viewer_token,
            observe=lambda source, invocation: self.invocations.append(
                (source.removeprefix("http "), source, invocation)
            ),
        )
        try:
            server.start()
        except OSError as error:
            raise RuntimeStartError(
                f"cannot serve the HTTP API on {LOOPBACK}:{self.options.http_port} ({error.strerror}): "
                "pass --http-port N (0 for any free port)"
            ) from None
        self.http_api = server
        for route in routes:
            self.progress(f"{route.label} <- HTTP API {route.key}")
        self.progress(f"HTTP API: {server.url}")
        self._start_dashboard(server.url)

    def _start_dashboard(self, api_url: str) -> None:
        """The dashboard over the HTTP API, reading run logs where the functions write them."""
        if self.options.dashboard_port is None:
            return
        _, _, aws = self._started()
        groups = {pool.config.log_group: logical_id for logical_id, pool in self.functions.items()}
        kept_since = kept_since_ms(journal_path(self._state_dir)) if aws.emulator == "moto" else None
        config = DashboardConfig(
            api_url=api_url, api_token=self.token, logs=RunLogSource(aws, groups, kept_since_ms=kept_since)
        )
        try:
            dashboard = DashboardServer(config, self.options.dashboard_port, token=self.token)
        except OSError as error:
            raise RuntimeStartError(
                f"cannot serve the dashboard on {LOOPBACK}:{self.options.dashboard_port} ({error.strerror}): "
                "pass --dashboard-port N (0 for any free port)"
            ) from None
        dashboard.start()
        self.dashboard = dashboard
        self.progress(f"Dashboard: {dashboard.url}")

    def _started(self) -> tuple[LocalTemplate, EmulatorProvider, AwsTarget]:
        if self.template is None or self.provider is None or self.aws is None:
            raise RuntimeStartError("the runtime has not started")
        return self.template, self.provider, self.aws

    async def _wait_for_kafka(self) -> None:
        for runner in self.kafka_runners:
            if not runner.source.enabled:
                continue
            ready = asyncio.create_task(runner.ready.wait())
            failed = [task for task in self._tasks if task.get_name() == f"kafka {runner.source.name}"]
            done, _ = await asyncio.wait(
                [ready, *failed], timeout=READY_TIMEOUT_SECONDS, return_when="FIRST_COMPLETED"
            )
            ready.cancel()
            if not runner.ready.is_set():
                errors = [task.exception() for task in done if task is not ready and not task.cancelled()]
                raise RuntimeStartError(
                    f"Kafka consumer for {runner.source.name} did not join its group: {errors or 'timeout'}"
                )
            self.progress(
                f"{runner.source.name} <- Kafka {','.join(runner.source.topics)} "
                f"(group {runner.source.consumer_group_id}, batch {runner.source.batch_size}, "
                f"window {runner.source.batching_window_seconds:g} s)"
            )

    def _failure_destination(self, source: KafkaSource, function_arn: str) -> FailureSink | None:
        """The mapping's OnFailure destination, if it is a bucket of the template (as on AWS, the
        failed batch with its records is written there as an invocation record)."""
        _, provider, aws = self._started()
        bucket = provider.bucket_for_arn(source.on_failure_destination or "")
        if bucket is None:
            return None
        s3 = aws.client("s3")

        async def write(event: dict[str, Any], invocation: Invocation, attempts: int) -> None:
            record = failure_record(event, invocation, attempts, function_arn)
            partition = next(iter(event["records"]), "unknown")
            key = f"aws/lambda/{source.name}/{partition}/{record['timestamp']}-{invocation.request_id}"
            await asyncio.to_thread(s3.put_object, Bucket=bucket, Key=key, Body=json.dumps(record).encode())
            self.progress(f"Kafka batch written to s3://{bucket}/{key} after {attempts - 1} retries")

        return write

    def _observer(self, logical_id: str) -> Callable[[str, Invocation], None]:
        def observe(source: str, invocation: Invocation) -> None:
            self.invocations.append((logical_id, source, invocation))

        return observe

    # --- control (tick, status) ------------------------------------------------------------------

    async def _start_control(self) -> None:
        self._control = await asyncio.start_server(self._handle_control, LOOPBACK, 0)
        self._control_port = self._control.sockets[0].getsockname()[1]

    async def _handle_control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = json.loads(await reader.readline())
            given = str(request.get("token", "")) if isinstance(request, dict) else ""
            if hmac.compare_digest(given.encode(), self.token.encode()):
                response = await self.control(request)
            else:  # another user of the machine can reach the port: it needs the token too
                response = {
                    "ok": False,
                    "error": "unauthorized: send the runtime's token (its state file's `token`)",
                }
        except Exception as error:
            response = {"ok": False, "error": f"{type(error).__name__}: {error}"}
        writer.write(json.dumps(response, default=str).encode() + b"\n")
        await writer.drain()
        writer.close()

    async def control(self, request: dict[str, Any]) -> dict[str, Any]:
        command = request.get("command")
        if command == "tick":
            if not self.schedules:
                return {"ok": False, "error": "no function with a schedule runs in this runtime"}
            invocation = await self.tick()
            return {
                "ok": invocation.ok,
                "request_id": invocation.request_id,
                "result": invocation.result,
                "error": invocation.error,
            }
        if command == "status":
            return {"ok": True, "functions": {name: p.invocations for name, p in self.functions.items()}}
        return {"ok": False, "error": f"unknown command {command!r}"}

    async def tick(self) -> Invocation:
        """Invoke the scheduled function now, with a Scheduler-shaped event (the `tick` command)."""
        return await self.schedules[0].tick()

    def _write_state(self) -> None:
        template, provider, aws = self._started()
        state = RuntimeState(
            pid=os.getpid(),
            control_port=self._control_port,
            template=str(self.options.template_path.resolve()),
            region=template.region,
            aws_endpoint_url=aws.endpoint_url,
            aws_emulator=aws.emulator,
            kafka_bootstrap_servers=self.bootstrap_servers,
            database_url=self.database_url,
            functions={
                name: {"name": process.config.name, "log_group": process.config.log_group}
                for name, process in self.functions.items()
            },
            queues=dict(provider.queue_urls),
            services={service.name: service.pid for service in self._services if service.pid is not None},
            topics=template.kafka_topics(),
            http_api_url=self.http_api.url if self.http_api is not None else None,
            dashboard_url=self.dashboard.url if self.dashboard is not None else None,
            token=self.token,
            viewer_token=self.viewer_token,
        )
        state.write(self._state_dir)

    # --- stop ------------------------------------------------------------------------------------

    def child_pids(self) -> list[int]:
        pids: list[int | None] = [pid for pool in self.functions.values() for pid in pool.pids]
        pids += [service.pid for service in self._services]
        return [pid for pid in pids if pid is not None]

    async def stop(self) -> None:
        if self.dashboard is not None:
            await asyncio.to_thread(self.dashboard.stop)
            self.dashboard = None
        if self.http_api is not None:
            await asyncio.to_thread(self.http_api.stop)  # no new requests while the rest stops
            self.http_api = None
        await cancel_all(self._tasks)
        self._tasks.clear()
        if self._control is not None:
            self._control.close()
            with contextlib.suppress(Exception):
                await self._control.wait_closed()
            self._control = None
        for pool in self.functions.values():
            await pool.stop()
        for service in reversed(self._services):
            await asyncio.to_thread(service.stop)
        self._executor.shutdown(wait=False, cancel_futures=True)
        if self._lock is not None:  # only the holder of the folder has state there to remove
            RuntimeState.remove(self._state_dir, os.getpid())
            self._lock.release()
            self._lock = None

    async def run(self) -> None:
        """Start, wait for Ctrl-C or SIGTERM, stop."""
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, stopping.set)
        await self.start()  # a start that fails has stopped what it started (a refused one, nothing)
        try:
            self.progress("running; Ctrl-C stops everything")
            watched = asyncio.create_task(stopping.wait())
            await asyncio.wait([watched, *self._tasks], return_when="FIRST_COMPLETED")
            watched.cancel()
            for task in self._tasks:
                if task.done() and not task.cancelled() and task.exception() is not None:
                    raise RuntimeStartError(f"{task.get_name()} stopped: {task.exception()!r}")
        finally:
            self.progress("stopping ...")
            await self.stop()
            self.progress("stopped")


async def cancel_all(tasks: list[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def rie_setup(options: RuntimeOptions) -> tuple[RieSetup, Path]:
    """The emulator, the runtime client's interpreter and the built template, or why they are missing."""
    root = project_root()
    build = options.rie_build_dir or root / ".aws-sam" / "x86_64" / "build"
    emulator = options.rie_emulator or next(
        iter(
            sorted(
                root.glob(".venv-tools/lib/python3.*/site-packages/samcli/local/rapid/aws-lambda-rie-x86_64")
            )
        ),
        None,
    )
    python = options.rie_python or root / ".venv-rie" / "bin" / "python"
    missing = [
        f"{what} ({path})"
        for what, path in (
            ("the x86_64 build", build / "template.yaml"),
            ("the emulator", emulator),
            ("awslambdaric's interpreter", python),
        )
        if path is None or not Path(path).exists()
    ]
    if missing:
        raise RuntimeStartError(f"--rie needs {', '.join(missing)}: run `make rie`")
    assert emulator is not None
    return RieSetup(emulator=emulator, python=python), build / "template.yaml"
