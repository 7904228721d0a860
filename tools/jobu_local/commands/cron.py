"""`jobu cron`: list, show, add, update, enable, disable, toggle, run now, pause, resume, backfill,
preview and delete cron jobs, on a database or through an admin API (commands/admin_target.py).

A job is named by its id or its name (digits are an id). Definitions are checked as the API checks
them (jobu.operations.cron_jobs): a bad expression or an unknown handler changes nothing.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from jobu_local.admin.errors import AdminError, validation_error
from jobu_local.commands.admin_target import add_target, print_answer, run_admin
from jobu_local.commands.common import CommandError, json_object
from jobu_local.commands.logs import LogsError, parse_time
from jobu_local.commands.table import cell, to_json
from jobu_local.commands.views import backfill_table, cron_detail, cron_table, dump, listing, runs_table

if TYPE_CHECKING:
    from jobu.models import CronJob
    from jobu.operations.cron_jobs import RunNowResult
    from jobu_local.admin.client import AdminClient

MAX_PAGE_SIZE = 100


def moment(text: str, *, ahead: bool = False) -> datetime:
    """A time the user names: ISO 8601 (UTC if no zone), or 10m, 2h, 1d ago (from now if `ahead`)."""
    try:
        return parse_time(text, ahead=ahead)
    except LogsError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def later(text: str) -> datetime:
    return moment(text, ahead=True)


def model[M: BaseModel](kind: type[M], data: dict[str, Any]) -> M:
    """`kind` from the user's values, refused as the API refuses it (validation_error)."""
    try:
        return kind.model_validate(data)
    except ValidationError as error:
        raise validation_error(error) from None


async def find_job(client: AdminClient, reference: str) -> CronJob:
    """The job with this id (digits) or name; a name is looked for page by page."""
    from jobu.api.routes.cron_jobs import get_cron_job, list_cron_jobs

    if reference.isdigit():
        return await client.call(get_cron_job, job_id=int(reference))
    page_number = 1
    while True:
        page = await client.call(list_cron_jobs, page=page_number, size=MAX_PAGE_SIZE)
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
        "timezone": args.timezone,
        "catchup_policy": args.catchup,
        "catchup_limit": args.catchup_limit,
        "catchup_window_seconds": args.catchup_window,
        "overlap_policy": args.overlap_policy,
        "allow_overlap": args.allow_overlap,
        "max_retry": args.max_retry,
        "timeout_seconds": args.timeout,
        "priority": args.priority,
        "ttl_seconds": args.ttl,
        "tags": args.tag,
        "concurrency_key": args.concurrency_key,
    }
    if args.params is not None:
        data["handler_params"] = json_object(args.params, "--params")
    return {key: value for key, value in data.items() if value is not None}


def cmd_list(args: argparse.Namespace) -> int:
    from jobu.api.routes.cron_jobs import list_cron_jobs

    view = listing(cron_table, "cron job")
    return print_answer(
        args, list_cron_jobs, view, page=args.page, size=args.size, is_enabled=args.is_enabled
    )


def cmd_show(args: argparse.Namespace) -> int:
    async def act(client: AdminClient) -> int:
        return _show(args, await find_job(client, args.job), detail=True)

    return run_admin(args, act)


def cmd_add(args: argparse.Namespace) -> int:
    from jobu.api.routes.cron_jobs import create_cron_job
    from jobu.specs import CronJobSpec

    spec = model(CronJobSpec, _definition(args))

    async def act(client: AdminClient) -> int:
        return _show(args, await client.call(create_cron_job, spec=spec))

    return run_admin(args, act, migrate=True)


def cmd_update(args: argparse.Namespace) -> int:
    from jobu.api.routes.cron_jobs import update_cron_job
    from jobu.operations.cron_jobs import CronJobUpdate

    changes = model(CronJobUpdate, _definition(args))
    if not changes.model_dump(exclude_none=True):
        raise CommandError("nothing to change: give a flag (--cron, --params, ...) or --file")

    async def act(client: AdminClient) -> int:
        job = await find_job(client, args.job)
        return _show(args, await client.call(update_cron_job, job_id=job.id, changes=changes))

    return run_admin(args, act)


def cmd_switch(args: argparse.Namespace) -> int:
    """enable, disable (nothing to do when it already is) and toggle."""
    from jobu.api.routes.cron_jobs import toggle_cron_job

    async def act(client: AdminClient) -> int:
        job = await find_job(client, args.job)
        wanted = {"enable": True, "disable": False}.get(args.cron_command, not job.is_enabled)
        if job.is_enabled != wanted:
            job = await client.call(toggle_cron_job, job_id=job.id)
        if job.is_enabled != wanted:  # toggled by someone else at the same moment
            raise AdminError(
                409, "conflict", f"cron job {job.id} was switched meanwhile; it is now {job.is_enabled}"
            )
        return _show(args, job)

    return run_admin(args, act)


def cmd_run(args: argparse.Namespace) -> int:
    from jobu.api.routes.cron_jobs import run_cron_job
    from jobu.operations.cron_jobs import RunNowRequest

    request = model(RunNowRequest, {"params": json_object(args.params, "--params") if args.params else {}})

    async def act(client: AdminClient) -> int:
        job = await find_job(client, args.job)
        result = await client.call(run_cron_job, job_id=job.id, request=request)
        if args.json:
            print(dump(result))
            return 0
        print(f"run {result.run.id} of cron job {job.id} ({job.name}) created, {_queued(result)}")
        print(runs_table([result.run]))
        return 0

    return run_admin(args, act)


def _queued(result: RunNowResult) -> str:
    from jobu.models import ExecutionStatus

    if result.queued:
        return "queued"
    if result.run.status is ExecutionStatus.WAITING:
        return "waiting behind the job's active run (overlap_policy queue_one)"
    return "NOT queued yet (the sweeper re-sends it within minutes)"


def cmd_pause(args: argparse.Namespace) -> int:
    from jobu.api.routes.cron_jobs import pause_cron_job
    from jobu.operations.cron_jobs import PauseRequest

    request = model(PauseRequest, {"until": args.until})

    async def act(client: AdminClient) -> int:
        job = await find_job(client, args.job)
        job = await client.call(pause_cron_job, job_id=job.id, request=request)
        if not args.json:
            until = f"until {cell(job.paused_until)} UTC" if job.paused_until else "until resumed"
            print(f"paused cron job {job.id} ({job.name}) {until}; catch-up policy {job.catchup_policy}")
        return _show(args, job) if args.json else 0

    return run_admin(args, act)


def cmd_resume(args: argparse.Namespace) -> int:
    from jobu.api.routes.cron_jobs import resume_cron_job

    async def act(client: AdminClient) -> int:
        job = await find_job(client, args.job)
        job = await client.call(resume_cron_job, job_id=job.id)
        if not args.json:
            print(
                f"resumed cron job {job.id} ({job.name}); the slots passed while paused follow its "
                f"catch-up policy ({job.catchup_policy})"
            )
        return _show(args, job) if args.json else 0

    return run_admin(args, act)


def cmd_backfill(args: argparse.Namespace) -> int:
    from jobu.api.routes.cron_jobs import backfill_cron_job
    from jobu.operations.cron_jobs import BackfillRequest

    request = model(BackfillRequest, {"start": args.start, "end": args.end, "dry_run": not args.apply})

    async def act(client: AdminClient) -> int:
        job = await find_job(client, args.job)
        result = await client.call(backfill_cron_job, job_id=job.id, request=request)
        if args.json:
            print(dump(result))
            return 0
        print(backfill_table(result))
        fresh = sum(not slot.existed for slot in result.slots)
        if result.dry_run:
            print(f"dry run: {fresh} slot(s) without a run would get one; --apply creates them")
        else:
            print(f"created {result.created} run(s) (param_source backfill), queued")
        if result.truncated:
            print("more slots follow: ask again from the last one shown")
        return 0

    return run_admin(args, act, migrate=True)


def cmd_preview(args: argparse.Namespace) -> int:
    from jobu.api.routes.cron_jobs import preview_cron_expression

    async def act(client: AdminClient) -> int:
        preview = await client.call(
            preview_cron_expression, cron_expression=args.expression, timezone=args.timezone, count=args.count
        )
        if args.json:
            print(dump(preview))
            return 0
        for utc, local in zip(preview.next_fire_times, preview.next_fire_times_local, strict=True):
            print(f"{utc.isoformat()}  {local} ({preview.timezone})")
        if not preview.next_fire_times:
            print("this expression never fires again")
        return 0

    return run_admin(args, act)


def cmd_delete(args: argparse.Namespace) -> int:
    from jobu.api.routes.cron_jobs import delete_cron_job

    async def act(client: AdminClient) -> int:
        job = await find_job(client, args.job)
        await client.call(delete_cron_job, job_id=job.id)
        text = f"deleted cron job {job.id} ({job.name}); its runs stay"
        print(to_json({"deleted": "cron_job", "id": job.id}) if args.json else text)
        return 0

    return run_admin(args, act)


def _definition_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name")
    parser.add_argument("--cron", help="5-field cron expression, read in --timezone")
    parser.add_argument("--timezone", help="IANA time zone of the expression (default UTC)")
    parser.add_argument(
        "--catchup", choices=("coalesce", "skip", "all"), help="what a late tick does with missed slots"
    )
    parser.add_argument("--catchup-limit", type=int, help="for --catchup all: the most missed slots run")
    parser.add_argument(
        "--catchup-window",
        type=int,
        metavar="SECONDS",
        help="missed slots older than this are dropped (0: no window)",
    )
    parser.add_argument(
        "--overlap-policy",
        choices=("allow", "skip", "queue_one"),
        help="a slot while a run is active: run it, skip it, or wait (at most one waiting)",
    )
    parser.add_argument("--handler")
    parser.add_argument("--params", help="handler_params as a JSON object")
    parser.add_argument("--description")
    parser.add_argument("--max-retry", type=int)
    parser.add_argument("--timeout", type=int, help="timeout_seconds")
    parser.add_argument("--priority", choices=("high", "normal", "low"), help="its runs' priority")
    parser.add_argument(
        "--ttl", type=int, metavar="SECONDS", help="a run not started this long after it is made expires"
    )
    parser.add_argument("--tag", action="append", metavar="TAG", help="a tag of its runs (repeat for more)")
    parser.add_argument("--concurrency-key", help="its runs' concurrency key")
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
    pause = sub.add_parser("pause", help="no runs until resumed (or --until)")
    pause.add_argument("job", help="id or name")
    pause.add_argument(
        "--until", type=later, metavar="WHEN", help="resume by itself then: ISO 8601, or 2h, 1d from now"
    )
    pause.set_defaults(run=cmd_pause)
    backfill = sub.add_parser(
        "backfill", help="runs for the passed slots in [--start, --end] that have none (a dry run first)"
    )
    backfill.add_argument("job", help="id or name")
    backfill.add_argument(
        "--start", type=moment, required=True, metavar="WHEN", help="ISO 8601 or 2h, 1d ago"
    )
    backfill.add_argument("--end", type=moment, required=True, metavar="WHEN")
    backfill.add_argument(
        "--apply", action="store_true", help="create the runs (default: only list the slots)"
    )
    backfill.set_defaults(run=cmd_backfill)
    preview = sub.add_parser("preview", help="the next times an expression fires, in UTC and its zone")
    preview.add_argument("expression", help="5-field cron expression or a macro (@daily)")
    preview.add_argument("--timezone", default="UTC", help="IANA time zone (default UTC)")
    preview.add_argument("--count", type=int, default=5, help="how many (1-50)")
    preview.set_defaults(run=cmd_preview)
    for name, action, help_text in (
        ("show", cmd_show, "every field of one job"),
        ("resume", cmd_resume, "end a pause; missed slots follow the catch-up policy"),
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
