"""`jobu enqueue HANDLER --params JSON`: a run of a handler (param_source api), through the enqueue
API's route (POST /api/runs), on a database or through an admin API (commands/admin_target.py).
The request is checked by the API, as every caller's is: a wrong field is its 400, named."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from jobu_local.commands.admin_target import add_target, run_admin
from jobu_local.commands.common import CommandError, json_object
from jobu_local.commands.logs import parse_duration
from jobu_local.commands.views import dump, runs_table

if TYPE_CHECKING:
    from jobu_local.admin.client import AdminClient


def request_of(args: argparse.Namespace) -> dict[str, Any]:
    """The enqueue request the flags describe."""
    request: dict[str, Any] = {"handler_name": args.handler}
    if args.params is not None:
        request["params"] = json_object(args.params, "--params")
    if args.delay is not None:
        delay = parse_duration(args.delay)
        if delay is None and args.delay.strip().isdigit():
            request["delay_seconds"] = int(args.delay)
        elif delay is None:
            raise CommandError(f"cannot read --delay {args.delay!r}: use seconds, or 30s, 10m, 2h, 1d")
        else:
            request["delay_seconds"] = int(delay.total_seconds())
    if args.key is not None:
        request["idempotency_key"] = args.key
    if args.priority is not None:
        request["priority"] = args.priority
    if args.tag:
        request["tags"] = args.tag
    if args.concurrency_key is not None:
        request["concurrency_key"] = args.concurrency_key
    debounce = debounce_of(args)
    if debounce is not None:
        request["debounce"] = debounce
    return request


def debounce_of(args: argparse.Namespace) -> dict[str, Any] | None:
    """The request's debounce; the API checks the values and names the field (debounce.seconds)."""
    if args.debounce is None:
        if args.debounce_seconds is not None or args.debounce_max_wait is not None:
            raise CommandError("--debounce-seconds and --debounce-max-wait go with --debounce KEY")
        return None
    debounce: dict[str, Any] = {"key": args.debounce, "seconds": args.debounce_seconds}
    if args.debounce_max_wait is not None:
        debounce["max_wait_seconds"] = args.debounce_max_wait
    return debounce


def cmd_enqueue(args: argparse.Namespace) -> int:
    from jobu.api.routes.runs import enqueue_run

    request = request_of(args)

    async def act(client: AdminClient) -> int:
        result = await client.call(enqueue_run, request=request)
        if args.json:
            print(dump(result))
            return 0
        run = result.run
        if result.deduplicated:
            held = "no run is left" if run is None else f"run {run.id} holds it"
            print(f"not enqueued again: idempotency key {args.key!r} is held ({held})")
        elif result.debounced and run is not None:
            print(
                f"joined run {run.id} of debounce key {args.debounce!r}: it takes these params, starts later"
            )
        elif run is not None:
            queued = (
                "queued" if run.queued_at is not None else "not queued yet (the sweeper sends it when due)"
            )
            print(f"run {run.id} of {run.handler_name} enqueued, {queued}")
        if run is not None:
            print(runs_table([run]))
        return 0

    return run_admin(args, act, migrate=True)


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("enqueue", help="enqueue a run of a handler (param_source api)")
    parser.add_argument("handler", help="the handler's name")
    parser.add_argument("--params", help="the run's params as a JSON object")
    parser.add_argument("--delay", help="not before this from now: seconds, or 30s, 10m, 2h, 1d")
    parser.add_argument("--key", help="idempotency key: within a day, the same key makes no second run")
    parser.add_argument("--priority", choices=("high", "normal", "low"))
    parser.add_argument("--tag", action="append", help="a tag (repeat for more)")
    parser.add_argument("--concurrency-key", help="the key the handler's per-key limits apply to (a tenant)")
    parser.add_argument(
        "--debounce", metavar="KEY", help="debounce key: requests of one key while its run waits make one run"
    )
    parser.add_argument(
        "--debounce-seconds", type=int, metavar="N", help="with --debounce: start N s after the last request"
    )
    parser.add_argument(
        "--debounce-max-wait",
        type=int,
        metavar="N",
        help="with --debounce: start at most N s after the first",
    )
    add_target(parser)
    parser.set_defaults(run=cmd_enqueue)
