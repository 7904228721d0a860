"""`jobu cron`: add, list, enable, disable and remove cron jobs, validated as the core validates them."""

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from jobu_local.commands import store as store_commands
from jobu_local.commands.common import CommandError, add_common, known_handlers
from jobu_local.commands.table import to_json
from jobu_local.commands.targets import (
    database_url,
    load_template,
)
from jobu_local.template.reader import LocalTemplate

WORKER_TIMEOUT_VARIABLE = "JOBU_WORKER_TIMEOUT_SECONDS"


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


def add_parser(commands: Any) -> None:
    cron = commands.add_parser("cron", help="add, list, enable, disable and remove cron jobs")
    sub = cron.add_subparsers(dest="cron_command", required=True)
    listing = sub.add_parser("list")
    add_common(listing, database=True)
    add = sub.add_parser("add", help="validated: a bad cron expression or unknown handler writes nothing")
    add_common(add, database=True)
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
        add_common(one, database=True)
    cron.set_defaults(run=cmd_cron)
