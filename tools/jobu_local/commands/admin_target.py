"""What the admin commands (`cron`, `runs`, `dlq`, `health`) act on: a database or an admin API.

- `--api-url URL`, or `--stack-name NAME` (the stack's AdminApiUrl output, read with CloudFormation
  DescribeStacks): the admin API, every request signed with SigV4 with the user's AWS credentials
  for the API's region. A loopback URL (the local runtime's API) is called unsigned when there are
  no credentials, since nothing there checks a signature.
- otherwise a database (`--database-url`, JOBU_DATABASE_URL, the running `jobu local up`'s, the
  embedded SQLite): jobu.operations called directly. The operations that queue a run or read the
  dead-letter queue use the running runtime's queues when it runs on that database, else
  JOBU_WORK_QUEUE_URL and JOBU_DEAD_LETTER_QUEUE_URL (on AWS_ENDPOINT_URL, or AWS).

A refusal prints the API's `error: detail` on one line and exits with status 2; a failure (the
database or the API down, a 5xx) exits with status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import ipaddress
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError

from jobu_local.admin.errors import AdminError
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
    from jobu.dead_letter_queue import DeadLetterQueue
    from jobu.work_queue import WorkQueue
    from jobu_local.admin.client import AdminClient
    from jobu_local.admin.direct import Resources
    from jobu_local.runtime.state import RuntimeState

WORKER_TIMEOUT_VARIABLE = "JOBU_WORKER_TIMEOUT_SECONDS"
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


def run_admin(args: argparse.Namespace, action: Action, *, migrate: bool = False) -> int:
    """Run `action` on the target the options name (an AdminError reaches `jobu`'s main)."""

    async def acting() -> int:
        async with admin_client(args, migrate=migrate) as client:
            return await action(client)

    return asyncio.run(acting())


def exit_status(error: AdminError) -> int:
    """2 for a refusal (the request must change), 1 for a failure (the same request may succeed later)."""
    return 2 if error.refused else 1


@asynccontextmanager
async def admin_client(args: argparse.Namespace, *, migrate: bool = False) -> AsyncIterator[AdminClient]:
    if args.api_url or args.stack_name:
        yield http_client(args.api_url, args.stack_name, region_name=args.region, profile=args.profile)
        return
    from jobu.errors import JobuError
    from jobu_local.admin.direct import DirectAdminClient, admin_error
    from jobu_local.commands.store import opened_store

    url = database_url(args.database_url)
    try:
        async with opened_store(url, migrate=migrate) as store:
            yield DirectAdminClient(store, local_resources(url, args))
    except JobuError as error:  # opening the store, or migrating it: the client answers the rest
        raise admin_error(error) from error


def http_client(
    api_url: str | None, stack_name: str | None, *, region_name: str | None, profile: str | None
) -> AdminClient:
    import boto3

    from jobu_local.admin.http import HttpAdminClient
    from jobu_local.aws.sigv4 import SigV4Signer

    url, signing_region = api_target(api_url, stack_name, region_name=region_name, profile=profile)
    session = boto3.session.Session(profile_name=profile)
    if session.get_credentials() is None:
        if not is_loopback(url):
            raise TargetError(
                "no AWS credentials to sign requests with: configure some (aws configure, aws sso login, "
                "AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
            )
        return HttpAdminClient(url, signer=None)  # a local API without credentials: unsigned
    return HttpAdminClient(url, signer=SigV4Signer(region=signing_region, session=session))


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


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- a database: what the operations need besides it --------------------------------------------


def local_resources(url: str, args: argparse.Namespace) -> Resources:
    from jobu.handler_manifest import known_handler_names
    from jobu_local.admin.direct import Resources

    queues = functools.cache(lambda: queue_urls(url, args.template))
    explicit_timeout: int | None = getattr(args, "worker_timeout", None)
    return Resources(
        work_queue=lambda: _work_queue(queues()),
        dead_letters=lambda: _dead_letters(queues()),
        known_handlers=known_handler_names,
        worker_timeout_seconds=lambda: (
            explicit_timeout or worker_timeout_seconds(load_template(args.template))
        ),
    )


def worker_timeout_seconds(template: LocalTemplate) -> int:
    """The worker's Timeout as the template gives it to the dispatchers and the admin function."""
    for spec in template.functions():
        value = spec.config.environment.get(WORKER_TIMEOUT_VARIABLE)
        if value:
            return int(value)
    for spec in template.functions():
        if spec.sqs:
            return spec.config.timeout_seconds
    raise CommandError(
        f"template.yaml sets no {WORKER_TIMEOUT_VARIABLE} and no function reads the work queue"
    )


def _sqs() -> Any:
    return aws_target(None).client("sqs")


def _work_queue(urls: dict[str, str]) -> WorkQueue:
    from jobu.work_queue import WorkQueue

    return WorkQueue(sqs_client=_sqs(), queue_url=urls[WORK_QUEUE_VARIABLE])


def _dead_letters(urls: dict[str, str]) -> DeadLetterQueue:
    from jobu.dead_letter_queue import DeadLetterQueue

    return DeadLetterQueue(sqs_client=_sqs(), queue_url=urls[DEAD_LETTER_QUEUE_VARIABLE])


def queue_urls(url: str, template: str | None) -> dict[str, str]:
    """The work queue's and the dead-letter queue's URLs, by the variable the functions read them
    from: the environment's, else those of a runtime running on this database."""
    names = (WORK_QUEUE_VARIABLE, DEAD_LETTER_QUEUE_VARIABLE)
    if all(os.environ.get(name) for name in names):
        return {name: os.environ[name] for name in names}
    state = running_state()
    if state is not None and state.database_url == url:
        return _runtime_queue_urls(state, template)
    raise TargetError(
        "queueing a run or reading the dead-letter queue needs the queues: run this while `jobu local up` "
        f"runs on this database, set {WORK_QUEUE_VARIABLE} and {DEAD_LETTER_QUEUE_VARIABLE} (with "
        "AWS_ENDPOINT_URL for an emulator), or act through an admin API (--api-url, --stack-name)"
    )


class _RunningQueues(NamingProvider):
    """Names as the runtime does, with its queues' URLs for Refs to them."""

    def __init__(self, template: LocalTemplate, urls: dict[str, str]) -> None:
        super().__init__(template)
        self.urls = urls

    def ref(self, logical_id: str) -> Any:
        return self.urls.get(logical_id) or super().ref(logical_id)


def _runtime_queue_urls(state: RuntimeState, template_path: str | None) -> dict[str, str]:
    template = LocalTemplate.load(Path(template_path or state.template), region=state.region)
    template.use_provider(_RunningQueues(template, state.queues))
    for spec in template.functions():
        found = {
            name: spec.config.environment.get(name, "")
            for name in (WORK_QUEUE_VARIABLE, DEAD_LETTER_QUEUE_VARIABLE)
        }
        if all(value.startswith(("http://", "https://")) for value in found.values()):
            return found
    raise TargetError(
        f"no function of {template.path} reads both {WORK_QUEUE_VARIABLE} and {DEAD_LETTER_QUEUE_VARIABLE}"
    )
