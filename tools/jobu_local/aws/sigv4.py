"""SigV4 for HTTP requests to an API Gateway API with IAM authorization (service `execute-api`).

The user's credentials come from botocore's usual chain (environment, profile, SSO, instance role),
frozen again for each request so temporary ones are refreshed. Signing is botocore's own
(`SigV4Auth`): the `jobu` CLI's admin client and the dashboard's proxy sign with this module.

Only the headers given to `sign` (and Host) are signed: a caller that forwards requests passes the
headers it will send, and adds none after signing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

if TYPE_CHECKING:
    from botocore.credentials import Credentials

SERVICE = "execute-api"
# https://{api-id}.execute-api.{region}.amazonaws.com[.cn]/
_EXECUTE_API_HOST = re.compile(r"^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")


class SigningError(RuntimeError):
    """No credentials to sign with; the message says where they are looked for."""


def region_of(url: str) -> str | None:
    """The region named by an execute-api URL's host; None for any other host (a custom domain)."""
    found = _EXECUTE_API_HOST.match(urlsplit(url).hostname or "")
    return found.group(1) if found else None


@dataclass(frozen=True)
class RequestSigner:
    credentials: Credentials
    region: str
    service: str = SERVICE

    @classmethod
    def from_environment(
        cls, region: str, *, profile: str | None = None, service: str = SERVICE
    ) -> RequestSigner:
        """A signer with the user's credentials (botocore's chain; `profile` picks a named one)."""
        credentials = boto3.session.Session(profile_name=profile).get_credentials()
        if credentials is None:
            raise SigningError(
                "no AWS credentials to sign the request with: set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run `aws configure` / `aws sso login`"
            )
        return cls(credentials=credentials, region=region, service=service)

    def sign(
        self, method: str, url: str, *, headers: Mapping[str, str] | None = None, body: bytes = b""
    ) -> dict[str, str]:
        """The headers to send with the request: `headers`, Host, X-Amz-Date and Authorization (and
        X-Amz-Security-Token with temporary credentials)."""
        given = dict(headers or {})
        if not any(name.lower() == "host" for name in given):
            given["Host"] = urlsplit(url).netloc
        request = AWSRequest(method=method.upper(), url=url, data=body, headers=given)
        SigV4Auth(self.credentials.get_frozen_credentials(), self.service, self.region).add_auth(request)
        return dict(request.headers.items())
