"""`jobu cron`: list, show, add, update, enable, disable, toggle, run now and delete cron jobs, on
a database or through an admin API (commands/admin_target.py).

A job is named by its id or its name (digits are an id). Definitions are checked as the API checks
them (jobu.operations.cron_jobs): a bad expression or an unknown handler changes nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from jobu_local.admin.errors import AdminError, validation_error
from jobu_local.commands.admin_target import add_target, run_admin
from jobu_local.commands.common import CommandError, json_object
from jobu_local.commands.views import cron_detail, cron_table, dump, footer, runs_table

if TYPE_CHECKING:
    from jobu.models import CronJob
    from jobu_local.admin.client import AdminClient

MAX_PAGE_SIZE = 100


def model[M: BaseModel](kind: type[M], data: dict[str, Any]) -> M:
    """`kind` from the user's values, refused as the API refuses it (validation_error)."""
    try:
        return kind.model_validate(data)
    except ValidationError as error:
        raise validation_error(error) from None


async def find_job(client: AdminClient, reference: str) -> CronJob:
    """The job with this id (digits) or name; a name is looked for page by page."""
    if reference.isdigit():
        return await client.get_cron_job(int(reference))
    page_number = 1
    while True:
        page = await client.list_cron_jobs(page=page_number, size=MAX_PAGE_SIZE)
        for job in page.items:
            if job.name == reference:
                return job
        if page_number >= page.pages:
            raise AdminError(404, "not_found", f"no cron job named {reference!r}")
        page_number += 1


def _show(args: argparse.Namespace, job: CronJob, *, detail: bool = False) -> int:
    print(dump(job) if args.json else cron_detail(job) if detail else cron_table([job]))
    return 0


def _definition(args: argparse.Namespace) -> dict[str, Any]:
    """The fields the flags (or --file) give; absent ones are left out."""
    if args.file:
        return json_object(Path(args.file).read_text(), "--file")
    data: dict[str, Any] = {
        "name": args.name,
        "cron_expression": args.cron,
        "handler_name": args.handler,
        "description": args.description,
        "is_enabled": args.is_enabled,
        "allow_overlap": args.allow_overlap,
        "max_retry": args.max_retry,
        "timeout_seconds": args.timeout,
    }
    if args.params is not None:
        data["handler_params"] = json_object(args.params, "--params")
    return {key: value for key, value in data.items() if value is not None}


def cmd_list(args: argparse.Namespace) -> int:
    async def act(client: AdminClient) -> int:
        page = await client.list_cron_jobs(page=args.page, size=args.size, is_enabled=args.is_enabled)
        print(dump(page.items) if args.json else f"{cron_table(page.items)}\n{footer(page, 'cron job')}")
        return 0

    return run_admin(args, act)


def cmd_show(args: argparse.Namespace) -> int:
    async def act(client: AdminClient) -> int:
        return _show(args, await find_job(client, args.job), detail=True)

    return run_admin(args, act)


def cmd_add(args: argparse.Namespace) -> int:
    from jobu.models import CronJobSpec

    spec = model(CronJobSpec, _definition(args))

    async def act(client: AdminClient) -> int:
        return _show(args, await client.create_cron_job(spec))

    return run_admin(args, act, migrate=True)


def cmd_update(args: argparse.Namespace) -> int:
    from jobu.operations.cron_jobs import CronJobUpdate

    changes = model(CronJobUpdate, _definition(args))
    if not changes.model_dump(exclude_none=True):
        raise CommandError("nothing to change: give a flag (--cron, --params, ...) or --file")

    async def act(client: AdminClient) -> int:
        job = await find_job(client, args.job)
        return _show(args, await client.update_cron_job(job.id, changes))

    return run_admin(args, act)


def cmd_switch(args: argparse.Namespace) -> int:
    """enable, disable (nothing to do when it already is) and toggle."""

    async def act(client: AdminClient) -> int:
        job = await find_job(client, args.job)
        wanted = {"enable": True, "disable": False}.get(args.cron_command, not job.is_enabled)
        if job.is_enabled != wanted:
            job = await client.toggle_cron_job(job.id)
        if job.is_enabled != wanted:  # toggled by someone else at the same moment
            raise AdminError(
                409, "conflict", f"cron job {job.id} was switched meanwhile; it is now {job.is_enabled}"
            )
        return _show(args, job)

    return run_admin(args, act)


def cmd_run(args: argparse.Namespace) -> int:
    from jobu.operations.cron_jobs import RunNowRequest

    request = model(RunNowRequest, {"params": json_object(args.params, "--params") if args.params else {}})

    async def act(client: AdminClient) -> int:
        job = await find_job(client, args.job)
        result = await client.run_cron_job(job.id, request)
        if args.json:
            print(dump(result))
            return 0
        queued = "queued" if result.queued else "NOT queued yet (the sweeper re-sends it within minutes)"
        print(f"run {result.run.id} of cron job {job.id} ({job.name}) created, {queued}")
        print(runs_table([result.run]))
        return 0

    return run_admin(args, act)


def cmd_delete(args: argparse.Namespace) -> int:
    async def act(client: AdminClient) -> int:
        job = await find_job(client, args.job)
        await client.delete_cron_job(job.id)
        print(f"deleted cron job {job.id} ({job.name}); its runs stay")
        return 0

    return run_admin(args, act)


def _definition_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name")
    parser.add_argument("--cron", help="5-field cron expression (UTC)")
    parser.add_argument("--handler")
    parser.add_argument("--params", help="handler_params as a JSON object")
    parser.add_argument("--description")
    parser.add_argument("--max-retry", type=int)
    parser.add_argument("--timeout", type=int, help="timeout_seconds")
    enabled = parser.add_mutually_exclusive_group()
    enabled.add_argument("--enabled", dest="is_enabled", action="store_const", const=True)
    enabled.add_argument("--disabled", dest="is_enabled", action="store_const", const=False)
    overlap = parser.add_mutually_exclusive_group()
    overlap.add_argument("--overlap", dest="allow_overlap", action="store_const", const=True)
    overlap.add_argument(
        "--no-overlap", dest="allow_overlap", action="store_const", const=False, help="allow_overlap = false"
    )
    parser.add_argument("--file", help="a JSON cron job definition instead of the flags")
    parser.add_argument(
        "--worker-timeout", type=int, help="for a database: the worker's Timeout (default: template.yaml's)"
    )


def add_parser(commands: Any) -> None:
    cron = commands.add_parser("cron", help="list, show, add, update, switch, run and delete cron jobs")
    sub = cron.add_subparsers(dest="cron_command", required=True, metavar="COMMAND")
    listing = sub.add_parser("list", help="cron jobs by name, a page at a time")
    enabled = listing.add_mutually_exclusive_group()
    enabled.add_argument("--enabled", dest="is_enabled", action="store_const", const=True)
    enabled.add_argument("--disabled", dest="is_enabled", action="store_const", const=False)
    listing.add_argument("--page", type=int, default=1)
    listing.add_argument("--size", type=int, default=50, help="at most 100")
    listing.set_defaults(run=cmd_list)
    add = sub.add_parser("add", help="validated: a bad cron expression or unknown handler writes nothing")
    _definition_flags(add)
    add.set_defaults(run=cmd_add)
    update = sub.add_parser("update", help="change the fields given")
    update.add_argument("job", help="id or name")
    _definition_flags(update)
    update.set_defaults(run=cmd_update)
    run = sub.add_parser("run", help="run the job now (enabled or not), params merged over its own")
    run.add_argument("job", help="id or name")
    run.add_argument("--params", help="overrides as a JSON object (param_source manual)")
    run.set_defaults(run=cmd_run)
    for name, action, help_text in (
        ("show", cmd_show, "every field of one job"),
        ("enable", cmd_switch, "schedule it again, from the next slot after now"),
        ("disable", cmd_switch, "stop scheduling it"),
        ("toggle", cmd_switch, "enable a disabled job, disable an enabled one"),
        ("delete", cmd_delete, "delete the job (its runs stay, without job id)"),
    ):
        one = sub.add_parser(name, help=help_text, aliases=["remove"] if name == "delete" else [])
        one.add_argument("job", help="id or name")
        one.set_defaults(run=action)
    for parser in {id(parser): parser for parser in sub.choices.values()}.values():  # aliases repeat
        add_target(parser)
