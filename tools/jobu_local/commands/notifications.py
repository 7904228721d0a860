"""`jobu notifications`: who is told of which runs' outcomes: list (the default), add, show, update,
delete, test (a TEST notification through the rule's destination now). The same routes as
`/api/notification-rules`, on a database or through an admin API."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

from jobu_local.commands.admin_target import add_target, inherit, print_answer, print_deleted, run_admin
from jobu_local.commands.cron import model
from jobu_local.commands.table import render
from jobu_local.commands.views import dump, fields

if TYPE_CHECKING:
    from jobu.operations.notification_rules import NotificationRule, TestResult
    from jobu_local.admin.client import AdminClient

STATUSES_HELP = "comma-separated: FAILED, TIMEOUT, CANCELLED, EXPIRED, SUCCESS, RECOVERED, MISSED, LATE"


def rules_table(rules: list[NotificationRule]) -> str:
    if not rules:
        return "no notification rules (add one: jobu notifications add --handler '*' --statuses FAILED ...)"
    rows = [
        [
            rule.id,
            rule.handler_name,
            ",".join(rule.statuses),
            rule.webhook_url or rule.sns_topic_arn,
            "yes" if rule.is_enabled else "no",
        ]
        for rule in rules
    ]
    return render(["id", "handler", "statuses", "destination", "enabled"], rows)


def rule_detail(rule: NotificationRule) -> str:
    lines = [
        fields(
            [
                ("id", rule.id),
                ("handler_name", rule.handler_name),
                ("statuses", ", ".join(rule.statuses)),
                ("webhook_url", rule.webhook_url),
                ("sns_topic_arn", rule.sns_topic_arn),
                ("signed", "yes (secret set)" if rule.secret_set else "no"),
                ("enabled", "yes" if rule.is_enabled else "no"),
                ("created_at", rule.created_at),
                ("updated_at", rule.updated_at),
            ]
        ),
        "",
        f"latest notifications ({len(rule.recent)}):" if rule.recent else "latest notifications: -",
    ]
    if rule.recent:
        rows = [
            [n.id, n.event, n.execution_id, n.state, n.attempts, n.response_status, n.last_error]
            for n in rule.recent
        ]
        lines.append(render(["id", "event", "run", "state", "attempts", "answer", "last error"], rows))
    return "\n".join(lines)


def test_line(result: TestResult) -> str:
    sent = result.notification
    if result.delivered:
        return f"test notification {sent.id} delivered (answer {sent.response_status or 'ok'})"
    return f"test notification {sent.id} not delivered: {sent.last_error}; retried with backoff by the tick"


def _local_webhooks(args: argparse.Namespace) -> None:
    """On the local runtime's own database (no --api-url, --stack-name, --database-url or
    JOBU_DATABASE_URL), webhooks may be http to this machine, as the runtime's functions allow."""
    from jobu import constants

    if not (args.api_url or args.stack_name or args.database_url or os.environ.get("JOBU_DATABASE_URL")):
        os.environ[constants.NOTIFY_LOOPBACK_HTTP] = "allow"


def _spec(args: argparse.Namespace) -> Any:
    from jobu.operations.notification_rules import RuleSpec

    _local_webhooks(args)

    statuses = [s.strip().upper() for s in (args.statuses or "").split(",") if s.strip()]
    data = {
        "handler_name": args.handler,
        "statuses": statuses,
        "webhook_url": args.webhook_url,
        "sns_topic_arn": args.sns_topic_arn,
        "secret": args.secret,
        "is_enabled": not args.disabled,
    }
    return model(RuleSpec, {key: value for key, value in data.items() if value is not None})


def cmd_list(args: argparse.Namespace) -> int:
    from jobu.api.routes.notification_rules import list_rules

    return print_answer(args, list_rules, rules_table)


def cmd_show(args: argparse.Namespace) -> int:
    from jobu.api.routes.notification_rules import get_rule

    return print_answer(args, get_rule, rule_detail, rule_id=args.id)


def cmd_add(args: argparse.Namespace) -> int:
    from jobu.api.routes.notification_rules import create_rule

    spec = _spec(args)

    async def act(client: AdminClient) -> int:
        rule = await client.call(create_rule, spec=spec)
        print(dump(rule) if args.json else rule_detail(rule))
        return 0

    return run_admin(args, act, migrate=True)


def cmd_update(args: argparse.Namespace) -> int:
    from jobu.api.routes.notification_rules import replace_rule

    spec = _spec(args)
    return print_answer(args, replace_rule, rule_detail, rule_id=args.id, spec=spec)


def cmd_delete(args: argparse.Namespace) -> int:
    from jobu.api.routes.notification_rules import delete_rule

    return print_deleted(args, delete_rule, "notification_rule", rule_id=args.id)


def cmd_test(args: argparse.Namespace) -> int:
    from jobu.api.routes.notification_rules import test_rule

    async def act(client: AdminClient) -> int:
        result = await client.call(test_rule, rule_id=args.id)
        print(dump(result) if args.json else test_line(result))
        return 0 if result.delivered else 1

    return run_admin(args, act)


def _rule_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--handler", required=True, help="a handler's name, or '*' for every handler")
    parser.add_argument("--statuses", required=True, help=STATUSES_HELP)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--webhook-url", help="https URL the signed JSON body is POSTed to")
    where.add_argument("--sns-topic-arn", help="an SNS topic the JSON body is published to")
    parser.add_argument("--secret", help="signs webhook bodies (at least 16 characters; never shown again)")
    parser.add_argument("--disabled", action="store_true", help="create it switched off")


def add_parser(commands: Any) -> None:
    notifications = commands.add_parser(
        "notifications", help="notification rules: who is told of failed, timed-out or missed runs"
    )
    add_target(notifications)
    notifications.set_defaults(run=cmd_list)
    sub = notifications.add_subparsers(dest="notifications_command")
    listed = sub.add_parser("list", help="every rule (the default)")
    listed.set_defaults(run=cmd_list)
    add = sub.add_parser("add", help="a new rule")
    _rule_flags(add)
    add.set_defaults(run=cmd_add)
    update = sub.add_parser("update", help="replace a rule (without --secret it keeps its own)")
    update.add_argument("id", type=int)
    _rule_flags(update)
    update.set_defaults(run=cmd_update)
    for name, command, text in (
        ("show", cmd_show, "one rule and its latest notifications"),
        ("delete", cmd_delete, "delete a rule"),
        ("test", cmd_test, "send a TEST notification through the rule's destination now"),
    ):
        child = sub.add_parser(name, help=text)
        child.add_argument("id", type=int)
        child.set_defaults(run=command)
    for child in sub.choices.values():
        add_target(child)
        inherit(notifications, child)
