"""How the `jobu` admin commands and `jobu dashboard` authenticate to an admin API given by URL: one
decision for both.

- The running `jobu local up`'s HTTP API, at the very address it printed: the runtime's token from
  its state file, as `Authorization: Bearer` (jobu_local.runtime.state.local_api_token). Nothing is
  signed: the user's AWS credentials are not used for a local API.
- https, or http to this machine (jobu_local.aws.loopback: localhost, 127.0.0.0/8, ::1): each
  request signed with SigV4 with the user's AWS credentials. Without credentials a loopback API is
  called unsigned (it may be one that checks nothing); any other is refused.
- Plain http to another machine: refused, since whoever is on the way could read the signed requests
  and replay them within their five minutes, unless `--sign-over-http` asks for it, and then a
  warning says what is done.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import boto3

from jobu_local.aws.loopback import is_loopback_url
from jobu_local.aws.sigv4 import SigV4Signer
from jobu_local.commands.common import CommandError
from jobu_local.commands.targets import TargetError
from jobu_local.runtime.state import local_api_token

SIGN_OVER_HTTP = "--sign-over-http"
SIGN_OVER_HTTP_HELP = (
    "sign requests with your AWS credentials even over plain http to another machine "
    "(anyone on the way can read and replay them)"
)
NO_CREDENTIALS = (
    "no AWS credentials to sign requests with: configure some (aws configure, aws sso login, "
    "AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
)


@dataclass(frozen=True)
class ApiAccess:
    """What goes with each request to the API: the local runtime's token, or a SigV4 signature, or
    (a loopback API, no credentials) nothing."""

    url: str
    token: str | None = None
    signer: SigV4Signer | None = None
    warning: str | None = None  # to tell the user before the first request


def api_access(
    url: str, *, region: str, session: boto3.session.Session, sign_over_http: bool = False
) -> ApiAccess:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise CommandError(f"--api-url takes an http:// or https:// URL, not {url!r}")
    token = local_api_token(url)
    if token is not None:
        return ApiAccess(url, token=token)
    loopback = is_loopback_url(url)
    over_http = parts.scheme == "http" and not loopback
    if over_http and not sign_over_http:
        raise CommandError(
            f"{url} is plain http to another machine: requests signed with your AWS credentials could "
            f"be read and replayed on the way; use https, or pass {SIGN_OVER_HTTP} to sign them anyway"
        )
    if session.get_credentials() is None:
        if loopback:
            return ApiAccess(url)
        raise TargetError(NO_CREDENTIALS)
    warning = (
        f"signing requests to {url} with your AWS credentials over plain http ({SIGN_OVER_HTTP}): "
        "anyone on the way can read and replay them"
        if over_http
        else None
    )
    return ApiAccess(url, signer=SigV4Signer(region=region, session=session), warning=warning)
