"""`jobu dlq`: the work queue's dead-letter queue: depth (the default), peek, redrive to the work
queue (SQS StartMessageMoveTask) and the redrive tasks, on a database's queues or through an admin
API (commands/admin_target.py)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from jobu_local.commands.admin_target import add_target, inherit, run_admin
from jobu_local.commands.cron import model
from jobu_local.commands.views import dead_letter_table, depth_line, dump, redrive_table

if TYPE_CHECKING:
    from jobu_local.admin.client import AdminClient


def cmd_depth(args: argparse.Namespace) -> int:
    from jobu.api.routes.dead_letters import dead_letter_depth

    async def act(client: AdminClient) -> int:
        depth = await client.call(dead_letter_depth)
        print(dump(depth) if args.json else depth_line(depth))
        return 0

    return run_admin(args, act)


def cmd_peek(args: argparse.Namespace) -> int:
    from jobu.api.routes.dead_letters import peek_dead_letters

    async def act(client: AdminClient) -> int:
        letters = await client.call(peek_dead_letters, max_messages=args.max)
        print(dump(letters) if args.json else dead_letter_table(letters))
        return 0

    return run_admin(args, act)


def cmd_redrive(args: argparse.Namespace) -> int:
    from jobu.api.routes.dead_letters import redrive_dead_letters
    from jobu.operations.dead_letters import RedriveRequest

    request = model(RedriveRequest, {"max_per_second": args.max_per_second})

    async def act(client: AdminClient) -> int:
        task = await client.call(redrive_dead_letters, request=request)
        if args.json:
            print(dump(task))
        else:
            found = "" if task.to_move is None else f", {task.to_move} message(s) to move"
            print(f"redrive {task.status.lower()}{found}: back to the work queue (see `jobu dlq redrives`)")
        return 0

    return run_admin(args, act)


def cmd_redrives(args: argparse.Namespace) -> int:
    from jobu.api.routes.dead_letters import list_redrives

    async def act(client: AdminClient) -> int:
        tasks = await client.call(list_redrives)
        print(dump(tasks) if args.json else redrive_table(tasks))
        return 0

    return run_admin(args, act)


def add_parser(commands: Any) -> None:
    dlq = commands.add_parser(
        "dlq", aliases=["dead-letters"], help="the dead-letter queue: depth, peek, redrive"
    )
    add_target(dlq)
    dlq.set_defaults(run=cmd_depth)
    sub = dlq.add_subparsers(dest="dlq_command", metavar="COMMAND")
    depth = sub.add_parser("depth", help="messages visible, in flight and delayed (the default)")
    depth.set_defaults(run=cmd_depth)
    peek = sub.add_parser("peek", help="look at messages without removing them, with each one's run")
    peek.add_argument("--max", type=int, help="at most 10 (the default)")
    peek.set_defaults(run=cmd_peek)
    redrive = sub.add_parser("redrive", help="move every message back to the work queue")
    redrive.add_argument("--max-per-second", type=int, help="SQS's move rate (default: SQS chooses)")
    redrive.set_defaults(run=cmd_redrive)
    tasks = sub.add_parser("redrives", help="the redrive tasks of the last 14 days")
    tasks.set_defaults(run=cmd_redrives)
    for parser in sub.choices.values():
        add_target(parser)
        inherit(dlq, parser)
