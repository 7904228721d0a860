"""`jobu runs rejected`: the Kafka records the queue dispatcher refused: list (the default), show,
replay (dispatch again, e.g. after the handler was deployed) and discard."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from jobu_local.commands.admin_target import (
    add_target,
    inherit,
    listing_commands,
    paging_flags,
    print_answer,
    print_deleted,
    run_admin,
)
from jobu_local.commands.views import dump, listing, rejected_detail, rejected_table, runs_table

if TYPE_CHECKING:
    from jobu_local.admin.client import AdminClient


def cmd_list(args: argparse.Namespace) -> int:
    from jobu.api.routes.rejected_records import list_rejected

    view = listing(rejected_table, "rejected record")
    return print_answer(args, list_rejected, view, page=args.page, size=args.size)


def cmd_show(args: argparse.Namespace) -> int:
    from jobu.api.routes.rejected_records import get_rejected

    return print_answer(args, get_rejected, rejected_detail, record_id=args.id)


def cmd_replay(args: argparse.Namespace) -> int:
    from jobu.api.routes.rejected_records import replay_rejected

    async def act(client: AdminClient) -> int:
        result = await client.call(replay_rejected, record_id=args.id)
        if args.json:
            print(dump(result))
        elif result.run is not None:
            print(f"rejected record {args.id} is now run {result.run.id}\n{runs_table([result.run])}")
        else:
            print(f"rejected record {args.id} was refused again: {result.reason}")
        return 0 if result.outcome == "dispatched" else 1

    return run_admin(args, act)


def cmd_discard(args: argparse.Namespace) -> int:
    from jobu.api.routes.rejected_records import discard_rejected

    return print_deleted(args, discard_rejected, "rejected_record", verb="discarded", record_id=args.id)


def _list_flags(parser: argparse.ArgumentParser) -> None:
    paging_flags(parser, "records")
    add_target(parser)


def add_parser(runs_commands: Any) -> None:
    """`rejected` under `jobu runs`."""
    rejected = runs_commands.add_parser(
        "rejected", help="Kafka records the queue dispatcher refused, with the reason"
    )
    sub = listing_commands(
        rejected,
        "rejected_command",
        list_flags=_list_flags,
        list_command=cmd_list,
        list_help="newest first, with the start of each value (the default)",
        by_id=(
            ("show", cmd_show, "one record with its whole value"),
            ("replay", cmd_replay, "dispatch it again: a run, or refused again with the reason"),
            ("discard", cmd_discard, "delete it"),
        ),
    )
    for child in sub.choices.values():
        inherit(rejected, child)
