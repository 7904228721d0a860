"""`jobu runs rejected`: the Kafka records the queue dispatcher refused: list (the default), show,
replay (dispatch again, e.g. after the handler was deployed) and discard."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from jobu_local.commands.admin_target import add_target, inherit, run_admin
from jobu_local.commands.views import dump, footer, rejected_detail, rejected_table, runs_table

if TYPE_CHECKING:
    from jobu_local.admin.client import AdminClient


def cmd_list(args: argparse.Namespace) -> int:
    async def act(client: AdminClient) -> int:
        page = await client.list_rejected(page=args.page, size=args.size)
        print(
            dump(page.items)
            if args.json
            else f"{rejected_table(page.items)}\n{footer(page, 'rejected record')}"
        )
        return 0

    return run_admin(args, act)


def cmd_show(args: argparse.Namespace) -> int:
    async def act(client: AdminClient) -> int:
        record = await client.get_rejected(args.id)
        print(dump(record) if args.json else rejected_detail(record))
        return 0

    return run_admin(args, act)


def cmd_replay(args: argparse.Namespace) -> int:
    async def act(client: AdminClient) -> int:
        result = await client.replay_rejected(args.id)
        if args.json:
            print(dump(result))
        elif result.run is not None:
            print(f"rejected record {args.id} is now run {result.run.id}\n{runs_table([result.run])}")
        else:
            print(f"rejected record {args.id} was refused again: {result.reason}")
        return 0 if result.outcome == "dispatched" else 1

    return run_admin(args, act)


def cmd_discard(args: argparse.Namespace) -> int:
    async def act(client: AdminClient) -> int:
        await client.discard_rejected(args.id)
        print(f"discarded rejected record {args.id}")
        return 0

    return run_admin(args, act)


def _list_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--page", type=int, default=1)
    parser.add_argument(
        "--size", "--limit", dest="size", type=int, default=50, help="records per page, at most 100"
    )
    add_target(parser)


def add_parser(runs_commands: Any) -> None:
    """`rejected` under `jobu runs`."""
    rejected = runs_commands.add_parser(
        "rejected", help="Kafka records the queue dispatcher refused, with the reason"
    )
    _list_flags(rejected)
    rejected.set_defaults(run=cmd_list)
    sub = rejected.add_subparsers(dest="rejected_command", metavar="COMMAND")
    listing = sub.add_parser("list", help="newest first, with the start of each value (the default)")
    _list_flags(listing)
    listing.set_defaults(run=cmd_list)
    for name, action, help_text in (
        ("show", cmd_show, "one record with its whole value"),
        ("replay", cmd_replay, "dispatch it again: a run, or refused again with the reason"),
        ("discard", cmd_discard, "delete it"),
    ):
        one = sub.add_parser(name, help=help_text)
        one.add_argument("id", type=int)
        add_target(one)
        one.set_defaults(run=action)
    for child in sub.choices.values():
        inherit(rejected, child)
