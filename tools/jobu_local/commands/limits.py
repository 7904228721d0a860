"""`jobu limits`: each handler's concurrency and rate limits, and what they hold now: list (the
default), show, set, clear. The same routes as `/api/limits`, on a database or through an admin API.

    jobu limits                                   every handler with limits: running, pending, waiting
    jobu limits show sleep                        one handler, and its busy concurrency keys
    jobu limits set sleep --per-key 2 --rate 10/60 --burst 5
    jobu limits set sleep --concurrency none      a flag not given keeps its current value
    jobu limits clear sleep                       back to the limits the handler's code sets

A change applies to the next run that starts, without a deploy.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from jobu_local.commands.admin_target import add_target, inherit, print_answer, run_admin
from jobu_local.commands.common import CommandError
from jobu_local.commands.table import render
from jobu_local.commands.views import dump, fields

if TYPE_CHECKING:
    from jobu.operations.limits import HandlerLimitsStatus, KeyUsage, LimitsSpec
    from jobu_local.admin.client import AdminClient

NONE = "none"


def _limit(value: int | None) -> str:
    return NONE if value is None else str(value)


def rate_text(spec: LimitsSpec) -> str:
    rate = spec.rate
    if rate is None:
        return NONE
    return f"{rate.limit}/{rate.period_seconds}s burst {rate.burst}"


def rate_used(status: HandlerLimitsStatus) -> str:
    rate = status.limits.rate
    if rate is None or status.rate_used is None:
        return "-"
    return f"{status.rate_used}/{rate.burst}"


def _key_name(key: KeyUsage) -> str:
    return "(no key)" if key.concurrency_key is None else key.concurrency_key


def _keys(status: HandlerLimitsStatus) -> str:
    busy = [f"{_key_name(key)} {key.running}/{key.pending}/{key.waiting}" for key in status.keys]
    return ", ".join(busy) or "-"


def limits_table(statuses: list[HandlerLimitsStatus]) -> str:
    if not statuses:
        return "no handler has limits (set some: jobu limits set HANDLER --per-key 2)"
    rows = [
        [
            status.handler_name,
            _limit(status.limits.concurrency),
            _limit(status.limits.per_key_concurrency),
            rate_text(status.limits),
            status.source,
            status.running,
            status.pending,
            status.waiting,
            rate_used(status),
            _keys(status),
        ]
        for status in statuses
    ]
    headers = ["handler", "concurrency", "per key", "rate", "source", "running", "pending", "waiting"]
    return render([*headers, "burst used", "busy keys (running/pending/waiting)"], rows)


def limits_detail(status: HandlerLimitsStatus) -> str:
    defaults = status.defaults
    lines = [
        fields(
            [
                ("handler_name", status.handler_name),
                ("source", status.source),
                ("concurrency", _limit(status.limits.concurrency)),
                ("per_key_concurrency", _limit(status.limits.per_key_concurrency)),
                ("rate", rate_text(status.limits)),
                ("code's limits", NONE if defaults is None else _spec_text(defaults)),
                ("running", status.running),
                ("pending", status.pending),
                ("waiting", status.waiting),
                ("burst used", rate_used(status)),
                ("next_start_at", status.next_start_at),
                ("updated_at", status.updated_at),
                ("updated_by", status.updated_by),
            ]
        ),
        "",
    ]
    if status.keys:
        rows = [[_key_name(key), key.running, key.pending, key.waiting] for key in status.keys]
        lines.append(render(["busy key", "running", "pending", "waiting"], rows))
    else:
        lines.append("busy keys: -")
    return "\n".join(lines)


def _spec_text(spec: LimitsSpec) -> str:
    return (
        f"concurrency {_limit(spec.concurrency)}, per key {_limit(spec.per_key_concurrency)}, "
        f"rate {rate_text(spec)}"
    )


def _count(text: str, flag: str) -> int | None:
    """A whole number, or None for 'none'; the API checks its bounds and names the field."""
    if text == NONE:
        return None
    if not text.isdigit():
        raise CommandError(f"{flag}: a whole number, or '{NONE}', not {text!r}")
    return int(text)


def _rate(text: str) -> dict[str, Any] | None:
    """--rate LIMIT/PERIOD_SECONDS, or 'none'."""
    if text == NONE:
        return None
    limit, slash, period = text.partition("/")
    if not (slash and limit.isdigit() and period.isdigit()):
        raise CommandError(
            f"--rate: LIMIT/PERIOD_SECONDS (e.g. 10/60: ten starts a minute), or '{NONE}', not {text!r}"
        )
    return {"limit": int(limit), "period_seconds": int(period)}


def limits_body(current: LimitsSpec, args: argparse.Namespace) -> dict[str, Any]:
    """The PUT body: the limits that apply now, with the flags given changed."""
    body: dict[str, Any] = current.model_dump(mode="json")
    if args.concurrency is not None:
        body["concurrency"] = _count(args.concurrency, "--concurrency")
    if args.per_key is not None:
        body["per_key_concurrency"] = _count(args.per_key, "--per-key")
    if args.rate is not None:
        rate = _rate(args.rate)
        if rate is not None and body["rate"] is not None:  # a new rate keeps the burst unless given
            rate["burst"] = min(body["rate"]["burst"], rate["limit"])
        body["rate"] = rate
    if args.burst is not None:
        if body["rate"] is None:
            raise CommandError("--burst: only with a rate (give --rate LIMIT/PERIOD_SECONDS)")
        body["rate"]["burst"] = _count(args.burst, "--burst")
    return body


def cmd_list(args: argparse.Namespace) -> int:
    from jobu.api.routes.limits import list_limits

    return print_answer(args, list_limits, limits_table)


def cmd_show(args: argparse.Namespace) -> int:
    from jobu.api.routes.limits import get_limits

    return print_answer(args, get_limits, limits_detail, handler_name=args.handler)


def cmd_set(args: argparse.Namespace) -> int:
    from jobu.api.routes.limits import get_limits, set_limits

    if args.concurrency is None and args.per_key is None and args.rate is None and args.burst is None:
        raise CommandError("give at least one of --concurrency, --per-key, --rate, --burst")

    async def act(client: AdminClient) -> int:
        # a flag not given keeps its value: `set --per-key 2` changes only the per-key limit
        current = await client.call(get_limits, handler_name=args.handler)
        status = await client.call(
            set_limits, handler_name=args.handler, spec=limits_body(current.limits, args)
        )
        print(dump(status) if args.json else limits_detail(status))
        return 0

    return run_admin(args, act, migrate=True)


def cmd_clear(args: argparse.Namespace) -> int:
    from jobu.api.routes.limits import clear_limits

    return print_answer(args, clear_limits, limits_detail, migrate=True, handler_name=args.handler)


def add_parser(commands: Any) -> None:
    limits = commands.add_parser(
        "limits", help="concurrency and rate limits per handler: what they are, what they hold now"
    )
    add_target(limits)
    limits.set_defaults(run=cmd_list)
    sub = limits.add_subparsers(dest="limits_command")
    listed = sub.add_parser("list", help="every handler (the default)")
    listed.set_defaults(run=cmd_list)
    show = sub.add_parser("show", help="one handler's limits and its busy concurrency keys")
    show.add_argument("handler")
    show.set_defaults(run=cmd_show)
    set_ = sub.add_parser("set", help="override a handler's limits (a flag not given keeps its value)")
    set_.add_argument("handler")
    set_.add_argument("--concurrency", metavar="N|none", help="runs at once, in all")
    set_.add_argument("--per-key", metavar="N|none", help="runs at once per concurrency key")
    set_.add_argument("--rate", metavar="LIMIT/SECONDS|none", help="starts per period, e.g. 10/60")
    set_.add_argument("--burst", metavar="N", help="starts at once, at most (1, the default: evenly spaced)")
    set_.set_defaults(run=cmd_set)
    clear = sub.add_parser("clear", help="remove the override: back to the limits the handler's code sets")
    clear.add_argument("handler")
    clear.set_defaults(run=cmd_clear)
    for child in sub.choices.values():
        add_target(child)
        inherit(limits, child)
