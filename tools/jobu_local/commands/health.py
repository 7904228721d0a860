"""`jobu health`: the admin API's liveness and readiness (or the database's, on a database): a
quick check that a target (--api-url, --stack-name, --database-url) answers."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from jobu_local.commands.admin_target import add_target, run_admin
from jobu_local.commands.table import to_json

if TYPE_CHECKING:
    from jobu_local.admin.client import AdminClient


def cmd_health(args: argparse.Namespace) -> int:
    from jobu.api.routes.health import liveness, readiness

    async def act(client: AdminClient) -> int:
        alive = await client.call(liveness)
        ready = await client.call(readiness)
        if args.json:
            print(to_json({"health": alive.model_dump(), "ready": ready.model_dump()}))
        else:
            print(f"{alive.status}; {ready.status}: database {ready.database} ({ready.backend})")
        return 0

    return run_admin(args, act)


def add_parser(commands: Any) -> None:
    health = commands.add_parser("health", help="liveness and readiness of the admin API or database")
    add_target(health)
    health.set_defaults(run=cmd_health)
