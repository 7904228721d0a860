"""`jobu runs`: the run history with the API's filters, one run's detail (params provenance, parent
and children), retry, bulk retry and bulk cancel (a dry run first, then a question) and delete;
`jobu runs rejected` for the Kafka records the queue dispatcher refused (commands/rejected.py). On a
database or through an admin API (commands/admin_target.py).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, Any

from jobu_local.commands import rejected
from jobu_local.commands.admin_target import (
    add_target,
    inherit,
    listing_commands,
    paging_flags,
    print_answer,
    print_deleted,
    run_admin,
)
from jobu_local.commands.common import CommandError
from jobu_local.commands.cron import model, moment
from jobu_local.commands.views import dump, listing, run_detail, runs_table

if TYPE_CHECKING:
    from collections.abc import Callable

    from jobu.listings import ExecutionSummary
    from jobu.models import ExecutionStatus
    from jobu.operations.paging import Page
    from jobu.operations.runs import BulkCancelResult, BulkRetryResult
    from jobu_local.admin.client import AdminClient


def status(text: str) -> ExecutionStatus:
    from jobu.models import ExecutionStatus

    try:
        return ExecutionStatus(text.upper())
    except ValueError:
        known = ", ".join(member.value for member in ExecutionStatus)
        raise argparse.ArgumentTypeError(f"{text!r} is not a status: {known}") from None


def param_pair(text: str) -> tuple[str, str]:
    """--param KEY=VALUE (the value may hold '='; the API checks both)."""
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    return key, value


def _params(pairs: list[tuple[str, str]] | None) -> dict[str, str] | None:
    if not pairs:
        return None
    keys = [key for key, _ in pairs]
    if twice := sorted({key for key in keys if keys.count(key) > 1}):
        raise CommandError(f"--param {twice[0]} is given twice: give each key once")
    return dict(pairs)


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "cron_id": args.cron_id,
        "status": args.status,
        "handler_name": args.handler,
        "from_date": args.from_date,
        "to_date": args.to_date,
        "tag": args.tag,
        "params": _params(args.param),
        "batch_id": args.batch,
    }


def cmd_list(args: argparse.Namespace) -> int:
    from jobu.api.routes.runs import list_runs

    view: Callable[[Page[ExecutionSummary]], str] = listing(runs_table, "run")
    return print_answer(args, list_runs, view, page=args.page, size=args.size, **_filters(args))


def cmd_show(args: argparse.Namespace) -> int:
    from jobu.api.routes.runs import get_run

    return print_answer(args, get_run, run_detail, run_id=args.id)


def cmd_retry(args: argparse.Namespace) -> int:
    from jobu.api.routes.runs import retry_run

    async def act(client: AdminClient) -> int:
        result = await client.call(retry_run, run_id=args.id)
        if args.json:
            print(dump(result))
            return 0
        queued = "queued" if result.queued else "NOT queued yet (the sweeper re-sends it within minutes)"
        run = result.run
        print(f"run {run.id} is {run.status.value} again (attempt {run.retry_count + 1}), {queued}")
        return 0

    return run_admin(args, act)


def cmd_cancel(args: argparse.Namespace) -> int:
    from jobu.api.routes.runs import cancel_run

    async def act(client: AdminClient) -> int:
        result = await client.call(cancel_run, run_id=args.id)
        if args.json:
            print(dump(result))
        elif result.outcome == "cancelled":
            print(f"run {args.id} is CANCELLED: it will not start")
        else:
            print(f"run {args.id} is running: its worker cancels the handler within seconds")
        return 0

    return run_admin(args, act)


def cmd_delete(args: argparse.Namespace) -> int:
    from jobu.api.routes.runs import delete_run

    return print_deleted(args, delete_run, "run", run_id=args.id)


def _preview(result: BulkRetryResult) -> str:
    if not result.matched:
        return "no FAILED or TIMEOUT run matches: nothing to retry"
    taken = len(result.ids)
    scope = (
        "all of them" if taken == result.matched else f"the newest {taken} (--limit takes more, up to 1000)"
    )
    return (
        f"{result.matched} FAILED or TIMEOUT run(s) match; a retry takes {scope}:\n"
        f"  {', '.join(str(run_id) for run_id in result.ids)}"
    )


def _confirmed(question: str, verb: str = "retry", done: str = "retried") -> bool:
    if not sys.stdin.isatty():
        raise CommandError(
            f"nothing {done}: pass --yes to {verb} without being asked (or --dry-run to only look)"
        )
    print(question, end=" ", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip().lower() in {"y", "yes"}


def cmd_bulk_retry(args: argparse.Namespace) -> int:
    from jobu.api.routes.runs import bulk_retry_runs
    from jobu.operations.runs import BulkRetryRequest

    filters = _filters(args)
    filters["tags"] = filters.pop("tag")  # the request's field; the route's query parameter is `tag`
    request = model(BulkRetryRequest, {**filters, "dry_run": True, "limit": args.limit})
    # the human-readable preview stays off stdout when stdout is for JSON
    say = (lambda text: print(text, file=sys.stderr)) if args.json else print

    async def act(client: AdminClient) -> int:
        preview = await client.call(bulk_retry_runs, request=request)
        if args.dry_run or not preview.matched:
            print(dump(preview) if args.json else _preview(preview))
            return 0
        say(_preview(preview))
        if not args.yes and not await asyncio.to_thread(
            _confirmed, f"retry these {len(preview.ids)} run(s)? [y/N]"
        ):
            say("nothing retried")
            return 1
        done = await client.call(bulk_retry_runs, request=request.model_copy(update={"dry_run": False}))
        if args.json:
            print(dump(done))
            return 0
        retried = ", ".join(map(str, done.ids)) or "-"
        print(f"retried {len(done.ids)} run(s), {len(done.queued)} queued: {retried}")
        unexpected = sorted(set(done.ids) - set(preview.ids))
        if unexpected:
            print(
                f"note: {len(unexpected)} of them failed after the dry run: {', '.join(map(str, unexpected))}"
            )
        return 0

    return run_admin(args, act)


def _cancel_preview(result: BulkCancelResult) -> str:
    if not result.matched:
        return "no WAITING, PENDING or RUNNING run matches: nothing to cancel"
    taken = len(result.ids)
    scope = (
        "all of them" if taken == result.matched else f"the newest {taken} (--limit takes more, up to 1000)"
    )
    return (
        f"{result.matched} WAITING, PENDING or RUNNING run(s) match; a cancel takes {scope}:\n"
        f"  {', '.join(str(run_id) for run_id in result.ids)}"
    )


def cmd_bulk_cancel(args: argparse.Namespace) -> int:
    from jobu.api.routes.runs import bulk_cancel_runs
    from jobu.operations.runs import BulkCancelRequest

    filters = _filters(args)
    filters["tags"] = filters.pop("tag")  # the request's field; the route's query parameter is `tag`
    request = model(BulkCancelRequest, {**filters, "dry_run": True, "limit": args.limit})
    say = (lambda text: print(text, file=sys.stderr)) if args.json else print

    async def act(client: AdminClient) -> int:
        preview = await client.call(bulk_cancel_runs, request=request)
        if args.dry_run or not preview.matched:
            print(dump(preview) if args.json else _cancel_preview(preview))
            return 0
        say(_cancel_preview(preview))
        if not args.yes and not await asyncio.to_thread(
            _confirmed, f"cancel these {len(preview.ids)} run(s)? [y/N]", "cancel", "cancelled"
        ):
            say("nothing cancelled")
            return 1
        done = await client.call(bulk_cancel_runs, request=request.model_copy(update={"dry_run": False}))
        if args.json:
            print(dump(done))
            return 0
        print(
            f"cancelled {', '.join(map(str, done.ids)) or '-'}: {len(done.cancelled)} run(s) will not start; "
            f"{len(done.requested)} running asked to stop"
        )
        return 0

    return run_admin(args, act)


def _filter_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--status", type=status, help="a run status: PENDING, RUNNING, SUCCESS, FAILED, ...")
    parser.add_argument("--handler", help="handler name")
    parser.add_argument("--cron-id", "--job-id", dest="cron_id", type=int, help="the runs of one cron job")
    parser.add_argument(
        "--from",
        dest="from_date",
        type=moment,
        metavar="WHEN",
        help="created at or after: 2h, 1d, ISO 8601 (UTC)",
    )
    parser.add_argument("--to", dest="to_date", type=moment, metavar="WHEN", help="created at or before")
    parser.add_argument(
        "--tag", action="append", metavar="TAG", help="runs carrying this tag (repeat: all of them)"
    )
    parser.add_argument(
        "--param",
        action="append",
        type=param_pair,
        metavar="KEY=VALUE",
        help="runs whose params' top-level KEY is VALUE: a string equal to it, or the number, true, "
        "false or null it reads as (repeat: all of them)",
    )
    parser.add_argument("--batch", type=int, metavar="ID", help="the runs of one batch (jobu batches)")


def _list_flags(parser: argparse.ArgumentParser) -> None:
    _filter_flags(parser)
    paging_flags(parser, "runs")
    add_target(parser)


def add_parser(commands: Any) -> None:
    runs = commands.add_parser(
        "runs", help="list, show, retry, cancel and delete runs; rejected Kafka records"
    )
    sub = listing_commands(
        runs,
        "runs_command",
        list_flags=_list_flags,
        list_command=cmd_list,
        list_help="runs, newest first (the default)",
        by_id=(
            ("show", cmd_show, "one run: every field, params and where each came from, parent and children"),
            ("retry", cmd_retry, "a new attempt of a FAILED or TIMEOUT run, queued"),
            ("cancel", cmd_cancel, "stop a run that has not ended (a running handler is cancelled)"),
            ("delete", cmd_delete, "delete a run that is not waiting, pending or running"),
        ),
    )
    bulk = sub.add_parser(
        "bulk-retry", help="retry the FAILED and TIMEOUT runs a filter matches: shows them, then asks"
    )
    _filter_flags(bulk)
    bulk.add_argument("--limit", type=int, default=100, help="the most runs to retry (1-1000)")
    bulk.add_argument("--dry-run", action="store_true", help="only show how many and which")
    bulk.add_argument("--yes", "-y", action="store_true", help="retry without asking")
    add_target(bulk)
    bulk.set_defaults(run=cmd_bulk_retry)
    bulk_cancel = sub.add_parser(
        "bulk-cancel",
        help="cancel the WAITING, PENDING and RUNNING runs a filter matches: shows them, then asks",
    )
    _filter_flags(bulk_cancel)
    bulk_cancel.add_argument("--limit", type=int, default=100, help="the most runs to cancel (1-1000)")
    bulk_cancel.add_argument("--dry-run", action="store_true", help="only show how many and which")
    bulk_cancel.add_argument("--yes", "-y", action="store_true", help="cancel without asking")
    add_target(bulk_cancel)
    bulk_cancel.set_defaults(run=cmd_bulk_cancel)
    rejected.add_parser(sub)
    for child in sub.choices.values():
        inherit(runs, child)
