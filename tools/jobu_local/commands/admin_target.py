"""What the admin commands (`cron`, `runs`, `dlq`, `health`) act on: a database or an admin API.

- `--api-url URL`, or `--stack-name NAME` (the stack's AdminApiUrl output, read with CloudFormation
  DescribeStacks): the admin API over HTTP. The running `jobu local up`'s HTTP API gets its token;
  any other gets every request signed with SigV4 with the user's AWS credentials for the API's
  region, over https or to this machine only (jobu_local.commands.api_access says how, for the
  dashboard too).
- otherwise a database (`--database-url`, JOBU_DATABASE_URL, the running `jobu local up`'s, the
  embedded SQLite): the admin function's own routes called in this process, on that database. The
  operations that queue a run or read a pool's queues use the running runtime's queues (every
  pool's) when it runs on that database, else each pool's JOBU_WORK_QUEUE_URL[_<POOL>] and
  JOBU_DEAD_LETTER_QUEUE_URL[_<POOL>] (on AWS_ENDPOINT_URL, or AWS).

Either way the client is jobu_local.admin.client.AdminClient; only its transport differs. A refusal
prints the API's `error: detail` on one line and exits with status 2; a failure (the database or
the API down, a 5xx) exits with status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError

from jobu_local.admin.client import AdminClient
from jobu_local.commands.api_access import SIGN_OVER_HTTP, SIGN_OVER_HTTP_HELP
from jobu_local.commands.common import CommandError
from jobu_local.commands.targets import (
    TargetError,
    aws_target,
    database_url,
    load_template,
    region,
    running_state,
)
from jobu_local.template.reader import LocalTemplate, NamingProvider

if TYPE_CHECKING:
    from jobu.pools import Pools
    from jobu_local.admin.services import DatabaseServices
    from jobu_local.admin.transports import HttpTransport
    from jobu_local.runtime.state import RuntimeState

WORK_QUEUE_VARIABLE = "JOBU_WORK_QUEUE_URL"
DEAD_LETTER_QUEUE_VARIABLE = "JOBU_DEAD_LETTER_QUEUE_URL"

Action = Callable[["AdminClient"], Awaitable[int]]


def add_target(parser: argparse.ArgumentParser) -> None:
    """The options every admin command takes: where to act, and --json."""
    target = parser.add_argument_group("where (a database by default; or an admin API)")
    one = target.add_mutually_exclusive_group()
    one.add_argument(
        "--database-url",
        help="postgresql://, mysql:// or sqlite:/// (default: JOBU_DATABASE_URL, the runtime's, .jobu/)",
    )
    one.add_argument("--api-url", help="an admin API's base URL, e.g. the local runtime's HTTP API")
    one.add_argument("--stack-name", help="a deployed stack: its AdminApiUrl output's API")
    target.add_argument(
        "--region", help="of the stack or API (default: the URL's, AWS_REGION, the profile's)"
    )
    target.add_argument("--profile", help="the AWS profile whose credentials sign requests")
    target.add_argument(SIGN_OVER_HTTP, action="store_true", help=SIGN_OVER_HTTP_HELP)
    target.add_argument("--template", help="for a database: the SAM template (default: template.yaml)")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts instead of a table")


def inherit(parent: argparse.ArgumentParser, child: argparse.ArgumentParser) -> None:
    """Options the parent command has too, given to a sub-command (`jobu runs show 3 --json` and
    `jobu runs --json show 3`): absent there, they keep the parent's value, where argparse would
    reset them to the sub-command's defaults."""
    shared = {action.dest for action in parent._actions if action.option_strings}
    for action in child._actions:
        if action.option_strings and action.dest in shared and action.dest != "help":
            action.default = argparse.SUPPRESS


def paging_flags(parser: argparse.ArgumentParser, noun: str) -> None:
    parser.add_argument("--page", type=int, default=1)
    parser.add_argument(
        "--size", "--limit", dest="size", type=int, default=50, help=f"{noun} per page, at most 100"
    )


def listing_commands(
    parser: argparse.ArgumentParser,
    dest: str,
    *,
    list_flags: Callable[[argparse.ArgumentParser], None],
    list_command: Callable[[argparse.Namespace], int],
    list_help: str,
    by_id: Sequence[tuple[str, Callable[[argparse.Namespace], int], str]],
) -> Any:
    """A command that lists by default (`jobu runs`), its `list` sub-command, and sub-commands that
    act on one item by id (`jobu runs show 3`): the sub-parsers, for more sub-commands."""
    list_flags(parser)
    parser.set_defaults(run=list_command)
    sub = parser.add_subparsers(dest=dest, metavar="COMMAND")
    listing = sub.add_parser("list", help=list_help)
    list_flags(listing)
    listing.set_defaults(run=list_command)
    for name, action, help_text in by_id:
        one = sub.add_parser(name, help=help_text)
        one.add_argument("id", type=int)
        add_target(one)
        one.set_defaults(run=action)
    return sub


def print_answer[T](
    args: argparse.Namespace,
    route: Callable[..., Awaitable[T]],
    view: Callable[[T], str],
    *,
    migrate: bool = False,
    **arguments: Any,
) -> int:
    """Call `route` with `arguments` on the target and print its answer: as JSON with --json (a
    page as its items), else as `view` shows it. `migrate`: on a database, create it (and its
    schema) first, for a command that writes to it."""
    from jobu_local.commands.views import dump

    async def act(client: AdminClient) -> int:
        answer = await client.call(route, **arguments)
        print(dump(answer) if args.json else view(answer))
        return 0

    return run_admin(args, act, migrate=migrate)


def print_deleted(
    args: argparse.Namespace,
    route: Callable[..., Awaitable[object]],
    noun: str,
    *,
    verb: str = "deleted",
    **arguments: Any,
) -> int:
    """Call the delete `route` with `arguments` (its one id among them) on the target, then say so:
    `{"deleted": noun, "id": ...}` with --json, else `<verb> <noun in words> <id>`."""
    from jobu_local.commands.table import to_json

    (item_id,) = arguments.values()

    async def act(client: AdminClient) -> int:
        await client.call(route, **arguments)
        words = noun.replace("_", " ")
        print(to_json({"deleted": noun, "id": item_id}) if args.json else f"{verb} {words} {item_id}")
        return 0

    return run_admin(args, act)


def run_admin(args: argparse.Namespace, action: Action, *, migrate: bool = False) -> int:
    """Run `action` on the target the options name (an AdminError reaches `jobu`'s main)."""

    async def acting() -> int:
        async with admin_client(args, migrate=migrate) as client:
            return await action(client)

    return asyncio.run(acting())


@asynccontextmanager
async def admin_client(args: argparse.Namespace, *, migrate: bool = False) -> AsyncIterator[AdminClient]:
    if args.api_url or args.stack_name:
        target = http_transport(
            args.api_url,
            args.stack_name,
            region_name=args.region,
            profile=args.profile,
            sign_over_http=args.sign_over_http,
        )
        yield AdminClient(target)
        return
    from jobu_local.admin.transports import InProcessTransport

    services = database_services(args, migrate=migrate)
    try:
        yield AdminClient(InProcessTransport(services, region=region(), debug=getattr(args, "debug", False)))
    finally:
        await services.close()


def http_transport(
    api_url: str | None,
    stack_name: str | None,
    *,
    region_name: str | None,
    profile: str | None,
    sign_over_http: bool = False,
) -> HttpTransport:
    """The admin API at --api-url or the stack's AdminApiUrl, with what its requests carry
    (jobu_local.commands.api_access: the local runtime's token, a SigV4 signature, or nothing)."""
    import boto3

    from jobu_local.admin.transports import HttpTransport
    from jobu_local.commands.api_access import api_access

    url, signing_region = api_target(api_url, stack_name, region_name=region_name, profile=profile)
    session = boto3.session.Session(profile_name=profile)
    access = api_access(url, region=signing_region, session=session, sign_over_http=sign_over_http)
    if access.warning:
        print(f"jobu: warning: {access.warning}", file=sys.stderr)
    return HttpTransport(url, signer=access.signer, token=access.token)


def api_target(
    api_url: str | None, stack_name: str | None, *, region_name: str | None, profile: str | None
) -> tuple[str, str]:
    """The admin API's base URL and the region requests are signed for."""
    import boto3

    from jobu_local.aws.sigv4 import region_of
    from jobu_local.aws.stack import StackError, admin_api_url, stack_outputs

    if api_url:
        if urlsplit(api_url).scheme not in {"http", "https"} or not urlsplit(api_url).hostname:
            raise CommandError(f"--api-url takes an http:// or https:// URL, not {api_url!r}")
        return api_url, region_name or region_of(api_url) or region()
    assert stack_name is not None
    try:
        session = boto3.session.Session(profile_name=profile, region_name=region_name)
        outputs = stack_outputs(session.client("cloudformation"), stack_name)
        return admin_api_url(outputs, stack_name, session.region_name), str(session.region_name)
    except (StackError, BotoCoreError) as error:
        raise TargetError(str(error)) from None


# --- a database: what the operations need besides it --------------------------------------------


def database_services(args: argparse.Namespace, *, migrate: bool) -> DatabaseServices:
    from jobu.handler_manifest import manifest_pools
    from jobu_local.admin.services import DatabaseServices

    url = database_url(args.database_url)
    explicit_timeout: int | None = getattr(args, "worker_timeout", None)  # every pool's
    return DatabaseServices(
        url,
        find_pools=lambda: local_pools(url, args.template, explicit_timeout),
        find_sqs=_sqs,
        find_worker_timeouts=lambda: (
            dict.fromkeys(manifest_pools(), explicit_timeout)
            if explicit_timeout
            else worker_timeouts(load_template(args.template))
        ),
        migrate=migrate,
    )


def worker_timeouts(template: LocalTemplate) -> dict[str, int]:
    """Each worker pool's Timeout, as the template gives it: each pool's worker function's (its
    JOBU_WORKER_POOL, the default pool when unset)."""
    from jobu.config import worker_pool

    found = {
        worker_pool(spec.config.environment): spec.config.timeout_seconds
        for spec in template.functions()
        if spec.sqs
    }
    if not found:
        raise CommandError(f"no function of {template.path} reads a work queue")
    return found


def _sqs() -> Any:
    return aws_target(None).client("sqs")


def local_pools(url: str, template_path: str | None, explicit_timeout: int | None = None) -> Pools:
    """Every worker pool's queues (JOBU_WORK_QUEUE_URL[_<POOL>], JOBU_DEAD_LETTER_QUEUE_URL[_<POOL>]):
    the environment's, else those of a runtime running on this database; and each pool's worker
    Timeout, the template's (or `explicit_timeout` for all)."""
    from jobu.errors import ConfigurationError
    from jobu.handler_manifest import manifest_pools
    from jobu.pools import Pool, Pools

    template = load_template(template_path)
    timeouts = worker_timeouts(template) if explicit_timeout is None else None

    def with_timeouts(found: Pools) -> Pools:
        return Pools(
            {
                name: Pool(
                    name,
                    pool.queue_url,
                    pool.dead_letter_queue_url,
                    explicit_timeout if timeouts is None else timeouts.get(name),
                )
                for name, pool in found.items()
            }
        )

    if os.environ.get(WORK_QUEUE_VARIABLE) and os.environ.get(DEAD_LETTER_QUEUE_VARIABLE):
        # the pools whose queues the environment names: a run of another pool is left unsent,
        # with the variable to set (the sweeper sends it once a function that knows its queue runs)
        try:
            return with_timeouts(Pools.from_environ(os.environ, dead_letters=True))
        except ConfigurationError as error:
            raise TargetError(str(error)) from None
    state = running_state()
    if state is None or state.database_url != url:
        raise TargetError(
            "queueing a run or reading a pool's queues needs them: run this while `jobu local up` "
            "runs on this database, set each pool's JOBU_WORK_QUEUE_URL[_<POOL>] and "
            "JOBU_DEAD_LETTER_QUEUE_URL[_<POOL>] (with AWS_ENDPOINT_URL for an emulator), or act "
            "through an admin API (--api-url, --stack-name)"
        )
    problem = "no function reads every pool's queues"
    # the function that names every pool's two queues (the admin function)
    for environ in _runtime_environments(state, template_path):
        try:
            found = Pools.from_environ(environ, dead_letters=True)
            found.check_covers(manifest_pools())
        except ConfigurationError as error:
            problem = str(error)
            continue
        return with_timeouts(found)
    raise TargetError(problem)


class _RunningQueues(NamingProvider):
    """Names as the runtime does, with its queues' URLs for Refs to them."""

    def __init__(self, template: LocalTemplate, urls: dict[str, str]) -> None:
        super().__init__(template)
        self.urls = urls

    def ref(self, logical_id: str) -> Any:
        return self.urls.get(logical_id) or super().ref(logical_id)


def _runtime_environments(state: RuntimeState, template_path: str | None) -> list[dict[str, str]]:
    """Each function's environment, with the running runtime's queue URLs."""
    template = LocalTemplate.load(Path(template_path or state.template), region=state.region)
    template.use_provider(_RunningQueues(template, state.queues))
    return [dict(spec.config.environment) for spec in template.functions()]
