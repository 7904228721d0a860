"""`jobu dashboard`: the dashboard on loopback for a deployed stack (or any admin API, or the running
local runtime), its calls to the admin API signed with the user's AWS credentials (SigV4), as
`kubectl proxy` does for a cluster.

jobu dashboard --stack-name jobu          the stack's AdminApiUrl and its functions' log groups
jobu dashboard --api-url https://...      any admin API (log lines with --log-group)
jobu dashboard                            the running `jobu local up`'s: the address of the one it
                                          serves, or (started with --no-dashboard) one served here

How requests to the API are authenticated is jobu_local.commands.api_access's decision, the CLI's
too. Without --port the dashboard takes 3001, or any free port when 3001 is taken (by a
`jobu local up`'s dashboard, say); a --port that is taken is an error.
"""

from __future__ import annotations

import argparse
import errno
import threading
from typing import Any
from urllib.parse import urlsplit

import boto3

from jobu_local.aws.cloudwatch.journal import journal_path, kept_since_ms
from jobu_local.aws.endpoint import AwsTarget
from jobu_local.aws.loopback import LOOPBACK
from jobu_local.aws.sigv4 import region_of
from jobu_local.aws.stack import admin_api_url, function_log_groups, stack_outputs
from jobu_local.commands.api_access import SIGN_OVER_HTTP, SIGN_OVER_HTTP_HELP, api_access
from jobu_local.commands.common import CommandError
from jobu_local.commands.targets import region, running_state
from jobu_local.dashboard.run_logs import RunLogSource
from jobu_local.dashboard.server import DEFAULT_PORT, DashboardConfig, DashboardServer
from jobu_local.runtime.state import state_dir


def config_from(args: argparse.Namespace, session: boto3.session.Session | None = None) -> DashboardConfig:
    """Where the dashboard's calls go, how they are signed, and where it reads run logs."""
    if args.stack_name and args.api_url:
        raise CommandError("give --stack-name or --api-url, not both")
    if not args.stack_name and not args.api_url:
        return _local_config()
    session = session or boto3.session.Session(profile_name=args.profile)
    api_url = args.api_url or ""
    log_groups = {group: group.rsplit("/", 1)[-1] for group in args.log_group or ()}
    chosen_region = args.region or region_of(api_url) or session.region_name or region()
    if args.stack_name:
        cloudformation = session.client("cloudformation", region_name=chosen_region)
        outputs = stack_outputs(cloudformation, args.stack_name)
        api_url = admin_api_url(outputs, args.stack_name, chosen_region)
        log_groups = log_groups or function_log_groups(outputs)
    access = api_access(api_url, region=chosen_region, session=session, sign_over_http=args.sign_over_http)
    if access.warning:
        print(f"jobu dashboard: warning: {access.warning}", flush=True)
    logs = RunLogSource(AwsTarget(None, chosen_region, "aws"), log_groups) if log_groups else None
    return DashboardConfig(
        api_url=api_url,
        signer=access.signer,
        api_token=access.token,
        logs=logs,
        label=args.stack_name or urlsplit(api_url).hostname or api_url,
    )


def _local_config() -> DashboardConfig:
    state = running_state()
    if state is None or state.http_api_url is None:
        raise CommandError(
            "nothing to show: pass --stack-name NAME (a deployed stack) or --api-url URL, "
            "or start `jobu local up` (it serves a dashboard of its own)"
        )
    groups = {details["log_group"]: name for name, details in state.functions.items()}
    target = AwsTarget(state.aws_endpoint_url, state.region, state.aws_emulator)
    kept_since = kept_since_ms(journal_path(state_dir())) if state.aws_emulator == "moto" else None
    logs = RunLogSource(target, groups, kept_since_ms=kept_since)
    return DashboardConfig(api_url=state.http_api_url, api_token=state.token or None, logs=logs)


def listen(config: DashboardConfig, port: int | None, default: int = DEFAULT_PORT) -> DashboardServer:
    """The server on `port`; without one, on `default`, or any free port when that one is taken."""
    try:
        return DashboardServer(config, default if port is None else port)
    except OSError as error:
        if port is None and error.errno == errno.EADDRINUSE:
            print(f"jobu dashboard: {LOOPBACK}:{default} is taken: serving on a free port", flush=True)
            return DashboardServer(config, 0)
        shown = default if port is None else port
        raise CommandError(f"cannot listen on {LOOPBACK}:{shown} ({error.strerror}): try --port 0") from None


def running_dashboard(args: argparse.Namespace) -> str | None:
    """The address of the dashboard the running `jobu local up` serves, when that is what was asked
    for (no API and no port named)."""
    if args.stack_name or args.api_url or args.port is not None:
        return None
    state = running_state()
    return state.dashboard_url if state is not None else None


def cmd_dashboard(args: argparse.Namespace) -> int:
    served = running_dashboard(args)
    if served is not None:
        print(f"jobu dashboard: `jobu local up` serves it: {served}", flush=True)
        print("jobu dashboard: open that address (it holds the session's token)", flush=True)
        return 0
    config = config_from(args)
    server = listen(config, args.port)
    server.start()
    print(f"jobu dashboard: admin API {config.api_url}, {config.authentication}", flush=True)
    print(f"jobu dashboard: {server.url}", flush=True)
    print("jobu dashboard: open that address (it holds the session's token); Ctrl-C stops", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def add_parser(commands: Any) -> None:
    dashboard = commands.add_parser(
        "dashboard", help="the dashboard on loopback for a deployed stack (requests signed with SigV4)"
    )
    dashboard.add_argument("--stack-name", help="a deployed stack: its AdminApiUrl and log groups")
    dashboard.add_argument("--api-url", help="an admin API's base URL instead of a stack's")
    dashboard.add_argument("--region", help="default: the API URL's, else the profile's or AWS_REGION")
    dashboard.add_argument("--profile", help="the AWS profile to sign with (default: the usual chain)")
    dashboard.add_argument(
        "--log-group", action="append", help="read run logs from this log group (repeatable)"
    )
    dashboard.add_argument(SIGN_OVER_HTTP, action="store_true", help=SIGN_OVER_HTTP_HELP)
    dashboard.add_argument(
        "--port",
        type=int,
        help=f"127.0.0.1:PORT (default {DEFAULT_PORT}, else any free one when it is taken; 0: any free)",
    )
    dashboard.set_defaults(run=cmd_dashboard)
