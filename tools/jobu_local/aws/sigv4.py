"""Requests to an API behind IAM authorization, signed with AWS Signature Version 4.

API Gateway checks the signature of every request to the admin API (service `execute-api`). The
signer uses the user's own AWS credentials, found the way the AWS CLI finds them (environment,
profile, SSO, instance role), and reads them again for each request, so temporary credentials
that refresh keep working. botocore's SigV4Auth computes the signature. The `jobu` CLI's admin
client and the dashboard's proxy both sign with this module.

Only the headers given to `sign` (and Host) are signed: a caller that forwards requests passes the
headers it will send, and adds none after signing. A signed request is for one host: `send` never
follows a redirect (the signature, the session token and the Host would reach the redirect's target,
which could replay them), it answers it as it came.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from jobu_local.errors import Refusal

SERVICE = "execute-api"
# https://{api-id}.execute-api.{region}.amazonaws.com[.cn]/
_EXECUTE_API_HOST = re.compile(r"^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")


def region_of(url: str) -> str | None:
    """The region named by an execute-api URL's host; None for any other host (a custom domain)."""
    found = _EXECUTE_API_HOST.match(urlsplit(url).hostname or "")
    return found.group(1) if found else None


class SigningError(Refusal, RuntimeError):
    """No AWS credentials to sign with; the message says how to provide them."""


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


class SigV4Signer:
    """Signs requests for `service` in `region` with the credentials of a boto3 session."""

    def __init__(
        self, *, region: str, session: boto3.session.Session | None = None, service: str = SERVICE
    ) -> None:
        self.region = region
        self.service = service
        self._session = session or boto3.session.Session()

    def _credentials(self) -> Any:
        credentials = self._session.get_credentials()
        if credentials is None:
            raise SigningError(
                "no AWS credentials to sign requests with: configure some (aws configure, aws sso login, "
                "AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
            )
        return credentials.get_frozen_credentials()

    def sign(
        self, method: str, url: str, *, body: bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """The headers to send `method url` with: `headers` plus the signature (Authorization,
        X-Amz-Date, X-Amz-Security-Token for temporary credentials). Send exactly that URL and body."""
        given = dict(headers or {})
        if not any(name.lower() == "host" for name in given):
            given["Host"] = urlsplit(url).netloc
        request = AWSRequest(method=method.upper(), url=url, data=body or b"", headers=given)
        SigV4Auth(self._credentials(), self.service, self.region).add_auth(request)
        return {name: str(value) for name, value in request.headers.items()}


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as the 3xx it is, never followed."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def send(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    signer: SigV4Signer | None = None,
    timeout: float = 35.0,
) -> HttpAnswer:
    """One HTTP request, signed when a signer is given; any status comes back as an answer, a
    redirect too (not followed)."""
    sent = dict(headers or {})
    if signer is not None:
        sent = signer.sign(method, url, body=body, headers=sent)
    request = urllib.request.Request(url, data=body, method=method.upper(), headers=sent)
    try:
        # an opener per request: its proxy handler reads the environment's proxies when it is made
        with urllib.request.build_opener(_NoRedirects()).open(request, timeout=timeout) as response:
            return HttpAnswer(int(response.status), dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as error:
        return HttpAnswer(int(error.code), dict(error.headers.items()), error.read())
