"""The `jobu` command: `local up`, `tick`, `produce`, `logs`, `runs`, `cron`, `demo`.

jobu local up [FUNCTION ...]      run the template's functions (all, or the ones named)
jobu tick                         invoke the scheduled function now (a running `local up`)
jobu produce --handler sample --params '{"name": "x"}'
jobu logs worker --execution-id 42 --since 10m
jobu runs [--status FAILED] | jobu runs show 42
jobu cron add --name nightly --cron '0 2 * * *' --handler sample
jobu demo                         the whole flow on embedded defaults (make demo)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jobu_local import logs as logs_module
from jobu_local import store_commands
from jobu_local.filter_pattern import FilterPatternError
from jobu_local.intrinsics import TemplateError
from jobu_local.produce import MessageError, build_message, send
from jobu_local.services import LOOPBACK
from jobu_local.table import to_json
from jobu_local.targets import (
    DEFAULT_TOPIC,
    TargetError,
    aws_target,
    bootstrap_servers,
    database_url,
    load_template,
    running_state,
)
from jobu_local.template import LocalTemplate

WORKER_TIMEOUT_VARIABLE = "JOBU_WORKER_TIMEOUT_SECONDS"


class CommandError(Exception):
    """A refusal with a message for the user (exit status 2)."""


def _say(message: str) -> None:
    print(f"jobu local: {message}", flush=True)


# --- local up / tick ---------------------------------------------------------------------------------


def cmd_local_up(args: argparse.Namespace) -> int:
    from jobu_local.runtime import LocalRuntime, RuntimeOptions

    path = Path(args.template) if args.template else load_template(None).path
    options = RuntimeOptions.from_environment(
        path,
        functions=args.functions,
        database_url=args.database_url,
        parameter_overrides=_pairs(args.parameter_overrides),
        function_environment=_env_vars(args.env_vars),
        schedule=not args.no_schedule,
        schedule_interval_seconds=args.schedule_interval,
        echo_logs=not args.quiet,
        state_dir=Path(args.state_dir) if args.state_dir else None,
        stack_name=args.stack_name,
        system_log_level=args.system_log_level,
    )
    asyncio.run(LocalRuntime(options, progress=_say).run())
    return 0


def _env_vars(path: str | None) -> dict[str, dict[str, str]]:
    """`sam local`'s --env-vars file: {"FunctionLogicalId": {"NAME": "value"}, ...}."""
    if path is None:
        return {}
    document = json.loads(Path(path).read_text())
    if not isinstance(document, dict) or not all(isinstance(v, dict) for v in document.values()):
        raise CommandError('--env-vars takes a JSON file like {"WorkerFunction": {"NAME": "value"}}')
    return {
        function: {name: str(value) for name, value in variables.items()}
        for function, variables in document.items()
    }


def _pairs(items: Sequence[str] | None) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in items or ():
        name, separator, value = item.partition("=")
        if not separator:
            raise CommandError(f"--parameter-overrides takes NAME=VALUE, not {item!r}")
        pairs[name] = value
    return pairs


def control(request: dict[str, Any], timeout: float = 120.0) -> dict[str, Any]:
    state = running_state()
    if state is None:
        raise CommandError("no local runtime is running: start one with `jobu local up`")
    with socket.create_connection((LOOPBACK, state.control_port), timeout=timeout) as connection:
        connection.sendall(json.dumps(request).encode() + b"\n")
        reply = connection.makefile("rb").readline()
    answer: dict[str, Any] = json.loads(reply)
    return answer


def cmd_tick(args: argparse.Namespace) -> int:
    answer = control({"command": "tick"})
    if args.json:
        print(to_json(answer))
    elif answer.get("ok"):
        print(f"tick: request {answer['request_id']} -> {json.dumps(answer.get('result'))}")
    else:
        print(f"tick failed: {answer.get('error')}", file=sys.stderr)
    return 0 if answer.get("ok") else 1


# --- produce -----------------------------------------------------------------------------------------


def known_handlers() -> frozenset[str]:
    from jobu.handler_manifest import known_handler_names

    return known_handler_names()


def cmd_produce(args: argparse.Namespace) -> int:
    if args.file is not None:
        document = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
        value = document.encode()
    else:
        document = None
    if args.no_validate:
        if document is None:
            raise CommandError("--no-validate sends a file (--file) as it is")
    else:
        message = build_message(
            handler_name=args.handler,
            params_json=args.params,
            job_id=args.job_id,
            document_text=document,
            known_handlers=known_handlers(),
        )
        value = json.dumps(message).encode()
    topic = args.topic or _topic()
    sent = asyncio.run(
        send(bootstrap_servers(args.bootstrap_servers), topic, value, args.key.encode() if args.key else None)
    )
    print(f"sent to {sent.topic} partition {sent.partition} offset {sent.offset}: {value.decode()}")
    return 0


def _topic() -> str:
    state = running_state()
    if state is not None and len(state.topics) == 1:
        return state.topics[0]
    try:
        topics = load_template(None).kafka_topics()
    except (TargetError, TemplateError, OSError):
        return DEFAULT_TOPIC
    return topics[0] if len(topics) == 1 else DEFAULT_TOPIC


# --- logs --------------------------------------------------------------------------------------------


def log_groups(
    template: LocalTemplate | None, function: str | None, stack_name: str | None, target: Any
) -> dict[str, str]:
    """{log group: label} for one function or all of them."""
    if stack_name is not None and target.endpoint_url is None:
        return _stack_log_groups(target, stack_name, function)
    state = running_state()
    if template is None:
        raise CommandError("no template to read function names from: pass --log-group or --template")
    specs = [template.find_function(function)] if function else template.functions()
    groups: dict[str, str] = {}
    for spec in specs:
        name = spec.config.name
        if state is not None and spec.logical_id in state.functions:
            name = state.functions[spec.logical_id]["name"]
        groups[f"/aws/lambda/{name}"] = spec.logical_id
    return groups


def _stack_log_groups(target: Any, stack_name: str, function: str | None) -> dict[str, str]:
    template = load_template(None)
    specs = [template.find_function(function)] if function else template.functions()
    cloudformation = target.client("cloudformation")
    groups: dict[str, str] = {}
    for spec in specs:
        resource = cloudformation.describe_stack_resource(
            StackName=stack_name, LogicalResourceId=spec.logical_id
        )
        groups[f"/aws/lambda/{resource['StackResourceDetail']['PhysicalResourceId']}"] = spec.logical_id
    return groups


def cmd_logs(args: argparse.Namespace) -> int:
    target = aws_target(args.endpoint_url)
    if args.log_group:
        groups = {group: group.rsplit("/", 1)[-1] for group in args.log_group}
    else:
        template = load_template(args.template) if args.template or not args.stack_name else None
        groups = log_groups(template, args.function, args.stack_name, target)
    pattern = logs_module.build_pattern(args.filter, execution_id=args.execution_id, level=args.level)
    reader = logs_module.LogReader(target, list(groups), pattern)
    start = logs_module.parse_time(args.since)
    end = logs_module.parse_time(args.until) if args.until else None
    start_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000) if end else None

    def emit(lines: Sequence[logs_module.LogLine]) -> None:
        logs_module.print_lines(lines, groups, sys.stdout, args.json)

    if args.follow:
        try:
            logs_module.follow(reader, start_ms, emit)
        except KeyboardInterrupt:
            return 0
        return 0
    lines = reader.read(start_ms, end_ms)
    if args.with_requests:
        lines = reader.with_request_lines(lines, start_ms, end_ms)
    emit(lines)
    return 0


# --- runs / cron -------------------------------------------------------------------------------------


def cmd_runs(args: argparse.Namespace) -> int:
    url = database_url(args.database_url)
    if args.runs_command == "show":
        run = asyncio.run(store_commands.get_run(url, args.id))
        if run is None:
            raise CommandError(f"no run with id {args.id}")
        print(to_json(run.model_dump(mode="json")) if args.json else store_commands.run_detail(run))
        return 0
    if args.runs_command == "rejected":
        rejected = asyncio.run(store_commands.list_rejected(url, limit=args.limit))
        print(store_commands.dump(rejected) if args.json else store_commands.rejected_table(rejected))
        return 0
    runs = asyncio.run(
        store_commands.list_runs(
            url, status=args.status, handler=args.handler, job_id=args.job_id, limit=args.limit
        )
    )
    print(store_commands.dump(runs) if args.json else store_commands.runs_table(runs))
    return 0


def worker_timeout_seconds(template: LocalTemplate) -> int:
    """The worker's Timeout as the template gives it to the dispatchers."""
    for spec in template.functions():
        value = spec.config.environment.get(WORKER_TIMEOUT_VARIABLE)
        if value:
            return int(value)
    for spec in template.functions():
        if spec.sqs:
            return spec.config.timeout_seconds
    raise CommandError(
        f"template.yaml sets no {WORKER_TIMEOUT_VARIABLE} and no function reads the work queue"
    )


def cmd_cron(args: argparse.Namespace) -> int:
    url = database_url(args.database_url)
    command = args.cron_command
    if command == "list":
        jobs = asyncio.run(store_commands.list_cron(url))
        print(store_commands.dump(jobs) if args.json else store_commands.cron_table(jobs))
        return 0
    if command == "add":
        job = asyncio.run(
            store_commands.add_cron(
                url,
                _cron_data(args),
                known_handlers=known_handlers(),
                worker_timeout_seconds=args.worker_timeout
                or worker_timeout_seconds(load_template(args.template)),
            )
        )
        print(to_json(job.model_dump(mode="json")) if args.json else store_commands.cron_table([job]))
        return 0
    if command in {"enable", "disable"}:
        job = asyncio.run(store_commands.enable_cron(url, args.name, enabled=command == "enable"))
        print(to_json(job.model_dump(mode="json")) if args.json else store_commands.cron_table([job]))
        return 0
    if not asyncio.run(store_commands.remove_cron(url, args.name)):
        raise CommandError(f"no cron job named {args.name!r}")
    print(f"removed cron job {args.name!r}")
    return 0


def _cron_data(args: argparse.Namespace) -> dict[str, Any]:
    if args.file:
        document = json.loads(Path(args.file).read_text())
        if not isinstance(document, dict):
            raise CommandError("the cron job file must hold a JSON object")
        return document
    data: dict[str, Any] = {
        "name": args.name,
        "cron_expression": args.cron,
        "handler_name": args.handler,
        "description": args.description,
        "is_enabled": not args.disabled,
        "allow_overlap": not args.no_overlap,
        "max_retry": args.max_retry,
        "timeout_seconds": args.timeout,
    }
    if args.params is not None:
        try:
            data["handler_params"] = json.loads(args.params)
        except ValueError as error:
            raise CommandError(f"--params is not valid JSON: {error}") from None
    return {key: value for key, value in data.items() if value is not None}


def cmd_demo(args: argparse.Namespace) -> int:
    from jobu_local.demo import run_demo

    return run_demo(timeout_seconds=args.timeout)


# --- parser ------------------------------------------------------------------------------------------


def _add_common(parser: argparse.ArgumentParser, *, database: bool = False) -> None:
    parser.add_argument(
        "--template", help="the SAM template (default: template.yaml, or the running runtime's)"
    )
    if database:
        parser.add_argument(
            "--database-url",
            help="postgresql://, mysql:// or sqlite:/// (default: JOBU_DATABASE_URL, the runtime's)",
        )
    parser.add_argument("--json", action="store_true", help="print JSON for scripts instead of a table")


def _local_parser(commands: Any) -> None:
    local = commands.add_parser("local", help="run the functions of template.yaml on this machine")
    local_commands = local.add_subparsers(dest="local_command", required=True)
    up = local_commands.add_parser("up", help="start the runtime (Ctrl-C stops it and everything it started)")
    up.add_argument("functions", nargs="*", help="logical ids or short names (worker, queue-dispatcher, ...)")
    up.add_argument("--template")
    up.add_argument("--database-url", help="default: JOBU_DATABASE_URL, else SQLite in .jobu/")
    up.add_argument("--parameter-overrides", nargs="*", metavar="NAME=VALUE")
    up.add_argument(
        "--no-schedule", action="store_true", help="no ticks at the template's rate (tick still works)"
    )
    up.add_argument("--schedule-interval", type=float, metavar="SECONDS", help="tick this often instead")
    up.add_argument(
        "--system-log-level",
        choices=["DEBUG", "INFO", "WARN"],
        help="instead of the template's SystemLogLevel (INFO writes the start and report records)",
    )
    up.add_argument(
        "--stack-name", help="prefix of local resource names (default: samconfig.toml's, else jobu)"
    )
    up.add_argument(
        "--env-vars", metavar="FILE", help='JSON {"WorkerFunction": {"NAME": "value"}} (as sam local)'
    )
    up.add_argument("--state-dir", help="where the state file goes (default .jobu/; JOBU_LOCAL_STATE_DIR)")
    up.add_argument("--quiet", action="store_true", help="do not echo the functions' log lines here")
    up.set_defaults(run=cmd_local_up)


def _produce_parser(commands: Any) -> None:
    produce = commands.add_parser("produce", help="send a job message to the Kafka topic")
    produce.add_argument("--handler", help="handler_name")
    produce.add_argument("--params", help="params as a JSON object")
    produce.add_argument("--job-id", type=int, help="job_id of a cron job whose params are the base")
    produce.add_argument("--file", help="a JSON message file ('-' for stdin) instead of the flags")
    produce.add_argument("--key", help="the record key")
    produce.add_argument("--topic", help=f"default: the template's topic ({DEFAULT_TOPIC})")
    produce.add_argument(
        "--bootstrap-servers", help="default: KAFKA_BOOTSTRAP_SERVERS, else the runtime's broker"
    )
    produce.add_argument(
        "--no-validate", action="store_true", help="send --file as it is (to test rejections)"
    )
    produce.set_defaults(run=cmd_produce)


def _logs_parser(commands: Any) -> None:
    logs = commands.add_parser(
        "logs", help="read function logs like CloudWatch (local emulator, LocalStack or AWS)"
    )
    logs.add_argument("function", nargs="?", help="logical id or short name; default: every function")
    logs.add_argument("--filter", help="a CloudWatch filter pattern, e.g. '{ $.level = \"ERROR\" }'")
    logs.add_argument("--execution-id", type=int, help="shortcut for { $.execution_id = N }")
    logs.add_argument("--level", help="shortcut for { $.level = LEVEL }")
    logs.add_argument("--since", default="10m", help="10m, 2h, 1d or an ISO time (default 10m)")
    logs.add_argument("--until", help="10m, 2h, 1d or an ISO time")
    logs.add_argument("--follow", action="store_true", help="keep printing new lines until Ctrl-C")
    logs.add_argument(
        "--with-requests", action="store_true", help="add the START/END/REPORT lines of matched runs"
    )
    logs.add_argument("--log-group", action="append", help="read this log group (repeatable)")
    logs.add_argument("--stack-name", help="on AWS: find the functions' names in this stack")
    logs.add_argument(
        "--endpoint-url", help="default: AWS_ENDPOINT_URL, else the runtime's emulator, else AWS"
    )
    logs.add_argument("--template")
    logs.add_argument("--json", action="store_true", help="one JSON object per event")
    logs.set_defaults(run=cmd_logs)


def _runs_parser(commands: Any) -> None:
    runs = commands.add_parser("runs", help="list or show job executions")
    _add_common(runs, database=True)
    runs.add_argument("--status", help="PENDING, RUNNING, SUCCESS, FAILED or TIMEOUT")
    runs.add_argument("--handler", help="handler name")
    runs.add_argument("--job-id", type=int)
    runs.add_argument("--limit", type=int, default=50)
    runs.set_defaults(run=cmd_runs, runs_command="list")
    sub = runs.add_subparsers(dest="runs_command")
    show = sub.add_parser("show", help="one execution, every field")
    show.add_argument("id", type=int)
    _add_common(show, database=True)
    show.set_defaults(run=cmd_runs)
    rejected = sub.add_parser("rejected", help="Kafka records the queue dispatcher refused, with the reason")
    rejected.add_argument("--limit", type=int, default=50)
    _add_common(rejected, database=True)
    rejected.set_defaults(run=cmd_runs)


def _cron_parser(commands: Any) -> None:
    cron = commands.add_parser("cron", help="add, list, enable, disable and remove cron jobs")
    sub = cron.add_subparsers(dest="cron_command", required=True)
    listing = sub.add_parser("list")
    _add_common(listing, database=True)
    add = sub.add_parser("add", help="validated: a bad cron expression or unknown handler writes nothing")
    _add_common(add, database=True)
    add.add_argument("--name")
    add.add_argument("--cron", help="5-field cron expression (UTC)")
    add.add_argument("--handler")
    add.add_argument("--params", help="handler_params as a JSON object")
    add.add_argument("--description")
    add.add_argument("--max-retry", type=int)
    add.add_argument("--timeout", type=int, help="timeout_seconds")
    add.add_argument("--disabled", action="store_true")
    add.add_argument("--no-overlap", action="store_true", help="allow_overlap = false")
    add.add_argument("--file", help="a JSON cron job definition instead of the flags")
    add.add_argument("--worker-timeout", type=int, help="default: from template.yaml")
    for name in ("enable", "disable", "remove"):
        one = sub.add_parser(name)
        one.add_argument("name")
        _add_common(one, database=True)
    cron.set_defaults(run=cmd_cron)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="jobu", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = root.add_subparsers(dest="command", required=True)
    _local_parser(commands)
    tick = commands.add_parser("tick", help="invoke the scheduled function now (needs `jobu local up`)")
    tick.add_argument("--json", action="store_true")
    tick.set_defaults(run=cmd_tick)
    _produce_parser(commands)
    _logs_parser(commands)
    _runs_parser(commands)
    _cron_parser(commands)
    demo = commands.add_parser("demo", help="the whole flow on embedded defaults, then stop (make demo)")
    demo.add_argument("--timeout", type=float, default=50.0, help="give up after this many seconds")
    demo.set_defaults(run=cmd_demo)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except (
        CommandError,
        MessageError,
        TargetError,
        TemplateError,
        FilterPatternError,
        logs_module.LogsError,
    ) as error:
        print(f"jobu: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        from jobu.errors import JobuError

        if isinstance(error, JobuError):
            print(f"jobu: {error}", file=sys.stderr)
            return 2
        raise
    return status


def now() -> datetime:
    return datetime.now(UTC)
