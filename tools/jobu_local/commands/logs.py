"""`jobu logs`: read the functions' CloudWatch logs as on AWS, from the emulator, LocalStack or AWS.

Events come from FilterLogEvents. On AWS the filter pattern is applied by CloudWatch. The
emulators do not apply it: moto matches plain terms only and lets every event through for a JSON
pattern, and LocalStack (localstack-core 2026.3.0 on the host) returns every event whatever the
pattern. So against any endpoint other than AWS the same pattern is applied here as well
(jobu_local.filter_pattern, CloudWatch's documented syntax); on moto it is not sent at all.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from jobu_local.aws.cloudwatch.reader import LogLine, LogReader
from jobu_local.aws.endpoint import AwsTarget
from jobu_local.commands.common import CommandError
from jobu_local.commands.log_format import pretty
from jobu_local.commands.targets import (
    aws_target,
    load_template,
    running_state,
)
from jobu_local.errors import Refusal
from jobu_local.template.reader import LocalTemplate

_DURATION = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
FOLLOW_POLL_SECONDS = 1.0


class LogsError(Refusal, ValueError):
    """Bad arguments to `jobu logs` (the message says which)."""


def parse_duration(text: str) -> timedelta | None:
    """`10m`, `2h`, `1d` as a timedelta; None for anything else."""
    match = _DURATION.match(text.strip())
    return None if match is None else timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def parse_time(text: str, now: datetime | None = None, *, ahead: bool = False) -> datetime:
    """`10m`, `2h`, `1d` ago (from now with `ahead`), or an ISO 8601 time (UTC if no zone is given)."""
    now = now or datetime.now(UTC)
    duration = parse_duration(text)
    if duration is not None:
        return now + duration if ahead else now - duration
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise LogsError(f"cannot read time {text!r}: use 10m, 2h, 1d or an ISO 8601 time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _json_literal(value: str) -> str:
    return value if re.fullmatch(r"-?\d+(\.\d+)?", value) else json.dumps(value)


def build_pattern(pattern: str | None, *, execution_id: int | None = None, level: str | None = None) -> str:
    """One CloudWatch pattern from --filter and the shortcuts (joined with &&)."""
    clauses: list[str] = []
    if execution_id is not None:
        clauses.append(f"$.execution_id = {execution_id}")
    if level is not None:
        clauses.append(f"$.level = {_json_literal(level.upper())}")
    text = (pattern or "").strip()
    if not clauses:
        return text
    if text:
        if not (text.startswith("{") and text.endswith("}")):
            raise LogsError("--execution-id / --level combine only with a JSON filter pattern ({ ... })")
        clauses.insert(0, f"({text[1:-1].strip()})")
    return "{ " + " && ".join(clauses) + " }"


FORMATS = ("pretty", "json")


def default_format(output: TextIO) -> str:
    """pretty on a terminal; JSON for a pipe or a file (a program reads it)."""
    return "pretty" if output.isatty() else "json"


def print_lines(lines: Sequence[LogLine], labels: dict[str, str], output: TextIO, output_format: str) -> None:
    for line in lines:
        if output_format == "json":
            output.write(json.dumps(line.as_json()) + "\n")
        else:
            output.write(pretty(line, labels.get(line.log_group, line.log_group)) + "\n")
    output.flush()


def follow(
    reader: LogReader,
    start_ms: int,
    emit: Callable[[Sequence[LogLine]], None],
    should_stop: Callable[[], bool] = lambda: False,
) -> None:
    """Print new events as they arrive, until interrupted."""
    seen: set[str] = set()
    cursor = start_ms
    while not should_stop():
        lines = [line for line in reader.read(cursor) if line.event_id not in seen]
        if lines:
            emit(lines)
            seen.update(line.event_id for line in lines)
            cursor = max(cursor, lines[-1].timestamp_ms - 1000)  # late arrivals within a second
        time.sleep(FOLLOW_POLL_SECONDS)


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
    try:
        return _logs(args, target)
    except NoCredentialsError:
        raise LogsError(
            "nothing to read logs from: no local runtime is running (start one with `jobu local up` or "
            "`make local`), no --endpoint-url or AWS_ENDPOINT_URL is set, and there are no AWS "
            "credentials to read CloudWatch Logs on AWS (aws configure, or AWS_PROFILE)"
        ) from None
    except EndpointConnectionError as error:
        raise LogsError(
            f"cannot reach {error.kwargs.get('endpoint_url', target.endpoint_url)}: "
            "is the local runtime (`jobu local up`) or the emulator still running?"
        ) from None
    except ClientError as error:
        raise LogsError(f"CloudWatch Logs refused the request: {error}") from None


def _logs(args: argparse.Namespace, target: AwsTarget) -> int:
    if args.log_group:
        groups = {group: group.rsplit("/", 1)[-1] for group in args.log_group}
    else:
        template = load_template(args.template) if args.template or not args.stack_name else None
        groups = log_groups(template, args.function, args.stack_name, target)
    pattern = build_pattern(args.filter, execution_id=args.execution_id, level=args.level)
    reader = LogReader(target, list(groups), pattern)
    start = parse_time(args.since)
    end = parse_time(args.until) if args.until else None
    start_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000) if end else None

    def emit(lines: Sequence[LogLine]) -> None:
        print_lines(lines, groups, sys.stdout, args.format or default_format(sys.stdout))

    if args.follow:
        try:
            follow(reader, start_ms, emit)
        except KeyboardInterrupt:
            return 0
        return 0
    lines = reader.read(start_ms, end_ms)
    if args.with_requests:
        lines = reader.with_request_lines(lines, start_ms, end_ms)
    emit(lines)
    return 0


def add_parser(commands: Any) -> None:
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
    logs.add_argument(
        "--format",
        choices=FORMATS,
        help="pretty (time, function, level, message, the run's ids, tracebacks) or json (one "
        "FilterLogEvents event per line); default: pretty on a terminal, json when piped",
    )
    logs.add_argument(
        "--json", dest="format", action="store_const", const="json", help="the same as --format json"
    )
    logs.set_defaults(run=cmd_logs)


def logs_main(argv: Sequence[str]) -> int:
    """`jobu logs ARGS` on its own (the demo shows a run's logs this way)."""
    root = argparse.ArgumentParser(prog="jobu")
    add_parser(root.add_subparsers(dest="command", required=True))
    args = root.parse_args(["logs", *argv])
    status: int = args.run(args)
    return status
