"""`jobu dlq`: a worker pool's dead-letter queue (--pool, the default pool's by default): depth (the
default), peek, redrive to the pool's work queue (SQS StartMessageMoveTask) and the redrive tasks;
`jobu pools`: every pool with its handlers and its two queues' depth. On a database's queues or
through an admin API (commands/admin_target.py)."""

from __future__ import annotations

import argparse
from typing import Any

from jobu_local.commands.admin_target import add_target, inherit, print_answer
from jobu_local.commands.cron import model
from jobu_local.commands.views import dead_letter_table, depth_line, pools_table, redrive_line, redrive_table


def cmd_depth(args: argparse.Namespace) -> int:
    from jobu.api.routes.dead_letters import dead_letter_depth

    return print_answer(args, dead_letter_depth, depth_line(args.pool), pool=args.pool)


def cmd_peek(args: argparse.Namespace) -> int:
    from jobu.api.routes.dead_letters import peek_dead_letters

    return print_answer(args, peek_dead_letters, dead_letter_table, max_messages=args.max, pool=args.pool)


def cmd_redrive(args: argparse.Namespace) -> int:
    from jobu.api.routes.dead_letters import redrive_dead_letters
    from jobu.operations.dead_letters import RedriveRequest

    request = model(RedriveRequest, {"max_per_second": args.max_per_second})
    # the redrive is recorded in the audit trail: on a database that is not there yet, it is made
    view = redrive_line(args.pool)
    return print_answer(args, redrive_dead_letters, view, migrate=True, request=request, pool=args.pool)


def cmd_redrives(args: argparse.Namespace) -> int:
    from jobu.api.routes.dead_letters import list_redrives

    return print_answer(args, list_redrives, redrive_table, pool=args.pool)


def cmd_pools(args: argparse.Namespace) -> int:
    from jobu.api.routes.pools import pools

    return print_answer(args, pools, pools_table)


def add_parser(commands: Any) -> None:
    dlq = commands.add_parser(
        "dlq", aliases=["dead-letters"], help="the dead-letter queue: depth, peek, redrive"
    )
    add_target(dlq)
    pool_option(dlq)
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
        pool_option(parser)
        inherit(dlq, parser)
    listing = commands.add_parser("pools", help="the worker pools: handlers, work queue and dead letters")
    add_target(listing)
    listing.set_defaults(run=cmd_pools)


def pool_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pool", default="default", help="the worker pool whose queue (default: default)")
