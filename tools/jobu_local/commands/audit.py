"""`jobu audit`: the audit trail, newest first: who changed what, when, and what it changed (the
admin API's GET /api/audit). On a database or through an admin API (commands/admin_target.py).
Stored text is printed escaped like any other (commands/terminal.py); --json is exact."""

from __future__ import annotations

import argparse
from typing import Any

from jobu_local.commands.admin_target import add_target, paging_flags, print_answer
from jobu_local.commands.cron import moment
from jobu_local.commands.views import audit_table, listing


def cmd_list(args: argparse.Namespace) -> int:
    from jobu.api.routes.audit import list_audit

    view = listing(audit_table, "action")
    return print_answer(
        args,
        list_audit,
        view,
        page=args.page,
        size=args.size,
        principal=args.principal,
        operation=args.operation,
        target_kind=args.target_kind,
        target_id=args.target_id,
        from_date=args.from_date,
        to_date=args.to_date,
    )


def add_parser(commands: Any) -> None:
    audit = commands.add_parser(
        "audit",
        help="the audit trail: who retried, cancelled, paused, edited, deleted, replayed or redrove what",
    )
    audit.add_argument("--principal", help="exactly: an IAM ARN, os:<user>, local:<user>")
    audit.add_argument("--operation", help="e.g. cron_job.update, run.retry, dead_letters.redrive")
    audit.add_argument("--target-kind", help="cron_job, run, runs, rejected_record, dead_letter_queue")
    audit.add_argument("--target-id", help="the target's id (a pool's name for a dead-letter queue)")
    audit.add_argument(
        "--from", dest="from_date", type=moment, metavar="WHEN", help="at or after: 2h, 1d, ISO 8601 (UTC)"
    )
    audit.add_argument("--to", dest="to_date", type=moment, metavar="WHEN", help="at or before")
    paging_flags(audit, "actions")
    add_target(audit)
    audit.set_defaults(run=cmd_list)
