"""`jobu local up` (the runtime until Ctrl-C) and `jobu tick` (through its control port)."""

import argparse
import asyncio
import json
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jobu_local.aws.apigateway import DEFAULT_PORT as DEFAULT_HTTP_PORT
from jobu_local.aws.loopback import LOOPBACK
from jobu_local.commands.common import CommandError
from jobu_local.commands.table import to_json
from jobu_local.commands.targets import (
    load_template,
    running_state,
)
from jobu_local.dashboard.server import DEFAULT_PORT as DEFAULT_DASHBOARD_PORT


def _say(message: str) -> None:
    print(f"jobu local: {message}", flush=True)


def cmd_local_up(args: argparse.Namespace) -> int:
    from jobu_local.runtime.runtime import LocalRuntime, RuntimeOptions, RuntimeStartError

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
        max_concurrency=args.max_concurrency,
        http_port=args.http_port,
        dashboard_port=args.dashboard_port,
        rie=args.rie or None,
    )
    if args.no_dashboard:
        options.dashboard_port = None
    try:
        asyncio.run(LocalRuntime(options, progress=_say).run())
    except RuntimeStartError as error:  # everything it started is stopped by then; the rest untouched
        print(f"jobu: {error}", file=sys.stderr)
        return 1
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
        connection.sendall(json.dumps(request | {"token": state.token}).encode() + b"\n")
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


def add_parser(commands: Any) -> None:
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
    up.add_argument(
        "--http-port",
        type=int,
        metavar="PORT",
        help=f"the template's HttpApi events on 127.0.0.1:PORT (default {DEFAULT_HTTP_PORT}; 0: any free)",
    )
    up.add_argument(
        "--dashboard-port",
        type=int,
        metavar="PORT",
        help=f"the dashboard on 127.0.0.1:PORT (default {DEFAULT_DASHBOARD_PORT}; 0: any free)",
    )
    up.add_argument("--no-dashboard", action="store_true", help="do not serve the dashboard")
    up.add_argument(
        "--rie",
        action="store_true",
        help="run sam build's x86_64 output under Lambda's runtime interface emulator (make rie first)",
    )
    up.add_argument(
        "--max-concurrency",
        type=int,
        metavar="N",
        help="at most N containers per function (default: as the template allows; 1: one at a time)",
    )
    up.set_defaults(run=cmd_local_up)
    tick = commands.add_parser("tick", help="invoke the scheduled function now (needs `jobu local up`)")
    tick.add_argument("--json", action="store_true")
    tick.set_defaults(run=cmd_tick)
