"""`jobu runs`: list and show job executions and rejected Kafka records."""

import argparse
import asyncio
from typing import Any

from jobu_local.commands import store as store_commands
from jobu_local.commands.common import CommandError, add_common
from jobu_local.commands.table import to_json
from jobu_local.commands.targets import (
    database_url,
)


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


def add_parser(commands: Any) -> None:
    runs = commands.add_parser("runs", help="list or show job executions")
    add_common(runs, database=True)
    runs.add_argument("--status", help="PENDING, RUNNING, SUCCESS, FAILED or TIMEOUT")
    runs.add_argument("--handler", help="handler name")
    runs.add_argument("--job-id", type=int)
    runs.add_argument("--limit", type=int, default=50)
    runs.set_defaults(run=cmd_runs, runs_command="list")
    sub = runs.add_subparsers(dest="runs_command")
    show = sub.add_parser("show", help="one execution, every field")
    show.add_argument("id", type=int)
    add_common(show, database=True)
    show.set_defaults(run=cmd_runs)
    rejected = sub.add_parser("rejected", help="Kafka records the queue dispatcher refused, with the reason")
    rejected.add_argument("--limit", type=int, default=50)
    add_common(rejected, database=True)
    rejected.set_defaults(run=cmd_runs)
