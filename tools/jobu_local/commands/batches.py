"""`jobu batches`: batches of runs with their completion callbacks (POST /api/batches and the rest of
/api/batches): list (the default), show (its counts, its runs by status, its callback run), cancel
(its waiting and pending runs), and create from a JSON file holding the request
`{"runs": [...], "on_success": {...}, "on_complete": {...}}` (--idempotency-key: a retry makes no
second batch). On a database or through an admin API
(commands/admin_target.py); the request is checked by the API, as every caller's is."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobu_local.commands.admin_target import (
    add_target,
    inherit,
    listing_commands,
    paging_flags,
    print_answer,
    run_admin,
)
from jobu_local.commands.common import CommandError, json_object
from jobu_local.commands.table import render
from jobu_local.commands.views import dump, fields

if TYPE_CHECKING:
    from jobu.operations.batches import BatchView
    from jobu.operations.paging import Page
    from jobu_local.admin.client import AdminClient

BATCH_COLUMNS = ("id", "status", "ended", "succeeded", "failed", "other", "callback run", "created_at", "by")
STATUSES = ("RUNNING", "SUCCESS", "FAILED", "CANCELLED")


def _others(batch: BatchView) -> int:
    return batch.timed_out + batch.cancelled + batch.expired


def batches_table(batches: Sequence[BatchView]) -> str:
    rows = [
        [
            batch.id,
            batch.status,
            f"{batch.ended}/{batch.total}",
            batch.succeeded,
            batch.failed,
            _others(batch),
            batch.callback_run_id,
            batch.created_at,
            batch.created_by,
        ]
        for batch in batches
    ]
    return render(BATCH_COLUMNS, rows)


def batches_page(page: Page[BatchView]) -> str:
    """The page's table and a last line: `12 batches (page 1 of 3; --page 2 for more)`."""
    position = f"page {page.page} of {max(page.pages, 1)}"
    more = f"; --page {page.page + 1} for more" if page.page < page.pages else ""
    noun = "batch" if page.total == 1 else "batches"
    return f"{batches_table(page.items)}\n{page.total} {noun} ({position}{more})"


def batch_detail(batch: BatchView) -> str:
    now = ", ".join(f"{status} {count}" for status, count in sorted((batch.counts or {}).items()))
    return fields(
        [
            ("id", batch.id),
            ("status", batch.status),
            ("runs", f"{batch.ended} of {batch.total} ended"),
            (
                "ended",
                f"succeeded {batch.succeeded}, failed {batch.failed}, timed out {batch.timed_out}, "
                f"cancelled {batch.cancelled}, expired {batch.expired}",
            ),
            ("runs now", now or None),
            ("on_success", batch.on_success),
            ("on_complete", batch.on_complete),
            ("success run", batch.success_run_id),
            ("complete run", batch.complete_run_id),
            ("created", f"{batch.created_at:%Y-%m-%d %H:%M:%S}Z by {batch.created_by}"),
            ("idempotency_key", batch.idempotency_key),
            ("cancelled_at", batch.cancelled_at),
            ("finished_at", batch.finished_at),
            ("its runs", f"jobu runs --batch {batch.id}"),
        ]
    )


def cmd_list(args: argparse.Namespace) -> int:
    from jobu.api.routes.batches import list_batches

    return print_answer(args, list_batches, batches_page, page=args.page, size=args.size, status=args.status)


def cmd_show(args: argparse.Namespace) -> int:
    from jobu.api.routes.batches import get_batch

    return print_answer(args, get_batch, batch_detail, batch_id=args.id)


def cmd_cancel(args: argparse.Namespace) -> int:
    from jobu.api.routes.batches import cancel_batch

    async def act(client: AdminClient) -> int:
        result = await client.call(cancel_batch, batch_id=args.id)
        if args.json:
            print(dump(result))
        else:
            print(f"batch {args.id}: {result.cancelled} waiting or pending runs cancelled\n")
            print(batch_detail(result.batch))
        return 0

    return run_admin(args, act)


def read_request(path: str) -> dict[str, Any]:
    """The batch request a file holds (`-`: standard input)."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror or error}") from None
    return json_object(text, path)


def cmd_create(args: argparse.Namespace) -> int:
    from jobu.api.routes.batches import create_batch

    request = read_request(args.file)
    # the flags over the file's fields: a script retries the same file with the same key
    if args.idempotency_key is not None:
        request["idempotency_key"] = args.idempotency_key
    if args.idempotency_ttl_seconds is not None:
        request["idempotency_ttl_seconds"] = args.idempotency_ttl_seconds

    async def act(client: AdminClient) -> int:
        result = await client.call(create_batch, request=request)
        if args.json:
            print(dump(result))
            return 0
        if result.batch is None:  # its key's batch was deleted by retention since
            key = request["idempotency_key"]
            print(f"idempotency key {key!r} is held: no batch made (its batch was deleted since)")
            return 0
        if result.deduplicated:
            key = result.batch.idempotency_key
            print(f"batch {result.batch.id} holds idempotency key {key!r}: nothing made\n")
        else:
            print(f"batch {result.batch.id}: {result.batch.total} runs created and queued\n")
        print(batch_detail(result.batch))
        return 0

    return run_admin(args, act, migrate=True)


def _list_flags(parser: argparse.ArgumentParser) -> None:
    paging_flags(parser, "batches")
    parser.add_argument("--status", choices=STATUSES, help="only the batches in this status")
    add_target(parser)


def add_parser(commands: Any) -> None:
    batches = commands.add_parser(
        "batches", help="batches of runs with completion callbacks: list, show, cancel, create"
    )
    sub = listing_commands(
        batches,
        "batches_command",
        list_flags=_list_flags,
        list_command=cmd_list,
        list_help="newest first, with their counts (the default)",
        by_id=(
            ("show", cmd_show, "one batch: its counts, its runs by status, its callback runs"),
            ("cancel", cmd_cancel, "cancel its waiting and pending runs (its running ones finish)"),
        ),
    )
    create = sub.add_parser("create", help="create a batch from a JSON file ('-': standard input)")
    create.add_argument(
        "file", help='{"runs": [...], "on_success": {"handler_name", "params"}, "on_complete": {...}}'
    )
    create.add_argument(
        "--idempotency-key",
        help="a retry with the same key (within its TTL) makes no second batch: it shows the key's batch",
    )
    create.add_argument(
        "--idempotency-ttl-seconds", type=int, help="how long the key holds (1 s to a year; default a day)"
    )
    add_target(create)
    create.set_defaults(run=cmd_create)
    for child in sub.choices.values():
        inherit(batches, child)
