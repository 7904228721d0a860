"""The `jobu` command: `local up`, `tick`, `produce`, `logs`, `runs`, `cron`, `notifications`, `dlq`,
`audit`, `health`, `dashboard`, `demo`.

jobu local up [FUNCTION ...]      run the template's functions (all, or the ones named)
jobu tick                         invoke the scheduled function now (a running `local up`)
jobu produce --handler sample --params '{"name": "x"}'
jobu logs worker --execution-id 42 --since 10m
jobu runs [--status FAILED --from 1d --param customer=acme] | runs show 42 | runs retry 42
jobu runs bulk-retry --status FAILED | runs bulk-cancel --param customer=acme [--dry-run]
jobu runs rejected [show|replay|discard ID]
jobu batches [list | show ID | cancel ID | create FILE]   runs made together, with their callbacks
jobu cron list | show | add | update | enable | disable | toggle | run | delete
jobu notifications [add | show | update | delete | test]   who is told of failed or missed runs
jobu dlq [peek | redrive | redrives]
jobu audit [--principal ARN --operation run.retry --from 1d]   who changed what, and what it changed
jobu dashboard --stack-name jobu  the dashboard for a deployed stack, on loopback
jobu demo                         the whole flow on embedded defaults (make demo)

The admin commands (runs, batches, cron, notifications, dlq, audit, health) act on a database (--database-url,
default: the running runtime's) or on an admin API (--api-url URL, --stack-name NAME; signed with SigV4).
An error is one line, `jobu: ...`; `jobu --debug COMMAND` adds its traceback (and, on a database,
the admin routes' log lines) on stderr. Text printed for a person has its control characters
escaped (commands/terminal.py); --json output is exact.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from jobu_local.admin.errors import AdminError
from jobu_local.commands import (
    audit,
    batches,
    cron,
    dashboard,
    demo,
    dlq,
    enqueue,
    health,
    local,
    logs,
    notifications,
    produce,
    runs,
)
from jobu_local.commands.terminal import escaped_output
from jobu_local.errors import JobuToolError


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="jobu", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    root.add_argument("--version", action="version", version=version_line())
    root.add_argument(
        "--debug", action="store_true", help="on errors, the traceback; on a database, the core's log lines"
    )
    commands = root.add_subparsers(dest="command", required=True)
    for module in (
        local,
        produce,
        logs,
        runs,
        enqueue,
        batches,
        cron,
        notifications,
        dlq,
        audit,
        health,
        dashboard,
        demo,
    ):
        module.add_parser(commands)
    return root


def version_line() -> str:
    """`jobu --version`: the installed distribution's version, and where the command runs from."""
    try:
        installed = version("jobu-serverless")
    except PackageNotFoundError:
        installed = "(not installed: `pip install .` or `make` installs it)"
    python = ".".join(str(part) for part in sys.version_info[:3])
    return f"jobu {installed} (jobu-serverless, Python {python}, {Path(__file__).resolve().parents[1]})"


def main(argv: Sequence[str] | None = None) -> int:
    """`jobu`: every error is one line, `jobu: ...`; --debug adds the traceback above it."""
    args = parser().parse_args(argv)
    # what is printed for a person has its control characters escaped; --json output stays exact
    as_json = getattr(args, "json", False) or getattr(args, "format", None) == "json"
    with escaped_output(stdout=not as_json):
        try:
            status: int = args.run(args)
        except KeyboardInterrupt:
            return 130
        except BrokenPipeError:  # `jobu runs --json | head`: the reader is gone, nothing more to say
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 141
        except Exception as error:
            if args.debug:
                traceback.print_exc()
            message, exit_status = _said(error, debug=args.debug)
            print(f"jobu: {' '.join(message.split())}", file=sys.stderr)
            return exit_status
    return status


def _said(error: Exception, *, debug: bool) -> tuple[str, int]:
    """What to tell the user about `error`, and the exit status."""
    if isinstance(error, AdminError) and error.error == "internal_error" and not debug:
        return f"{error} (on a database, `jobu --debug ...` shows the traceback here)", error.exit_status
    if isinstance(error, JobuToolError):
        return str(error), error.exit_status
    from jobu.errors import JobuError, QueueError, StoreUnavailableError

    if isinstance(error, JobuError):  # the core's refusals, or what it could not reach
        return str(error), 1 if isinstance(error, StoreUnavailableError | QueueError) else 2
    hint = "" if debug else " (`jobu --debug ...` shows the traceback)"
    return f"unexpected error: {type(error).__name__}: {error}{hint}", 1
