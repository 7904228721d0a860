"""The two ways an admin request reaches the admin function.

- HttpTransport: an HTTP request to an admin API (API Gateway, or the local runtime's HTTP API),
  signed with SigV4 when given a signer. Redirects are answered as the errors they are, never
  followed: a signed request is for one host.
- InProcessTransport: the API Gateway HTTP API (payload 2.0) event the request would become, handed
  to the admin function's own resolver and routes (jobu.api.resolver.resolve) in this process, over
  Services the caller provides (admin/services.py: a database and the local queues).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from jobu_local.admin.client import ApiAnswer, ApiRequest
from jobu_local.admin.errors import AdminError
from jobu_local.aws.apigateway import http_api_event
from jobu_local.errors import JobuToolError
from jobu_local.host.context import LambdaContext
from jobu_local.principals import cli_principal, lambda_authorizer
from jobu_local.template.reader import ACCOUNT_ID, DEFAULT_REGION

if TYPE_CHECKING:
    from jobu.api.services import Services
    from jobu_local.aws.sigv4 import SigV4Signer

# API Gateway gives an HTTP API integration at most 30 s; a little more covers the network.
TIMEOUT_SECONDS = 35.0
# the admin function's one route in template.yaml (AdminApiFunction's HttpApi event)
ROUTE_KEY = "ANY /{proxy+}"
FUNCTION_NAME = "jobu-AdminApiFunction"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class HttpTransport:
    def __init__(
        self,
        base_url: str,
        *,
        signer: SigV4Signer | None,
        token: str | None = None,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.signer = signer
        self.token = token  # the local runtime's (jobu_local.commands.api_access): instead of a signature
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirects())

    async def send(self, request: ApiRequest) -> ApiAnswer:
        return await asyncio.to_thread(self._send, request)

    def _send(self, request: ApiRequest) -> ApiAnswer:
        url = self.base_url + request.target
        headers = {"Accept": "application/json"}
        if request.body is not None:
            headers["Content-Type"] = "application/json"
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        elif self.signer is not None:
            headers = self.signer.sign(request.method, url, headers=headers, body=request.body or b"")
        sent = urllib.request.Request(url, data=request.body, method=request.method, headers=headers)
        try:
            with self._opener.open(sent, timeout=self.timeout) as response:
                return ApiAnswer(int(response.status), bytes(response.read()))
        except urllib.error.HTTPError as error:
            return ApiAnswer(error.code, error.read())
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise AdminError(None, "unreachable", f"cannot reach the admin API at {url}: {reason}") from None


def _raise(error: Exception) -> Any:
    raise error


class InProcessTransport:
    """The admin function's resolver, with two differences: the tools' own errors, which only these
    Services raise (e.g. no queue configured), reach the caller as they are rather than as a 500; and
    a 5xx says its cause, since the caller is its own operator in this very process.

    The core's log lines (JSON, on stdout in a function) go to stderr here, and only with `debug`:
    stdout is the command's output, and each outcome is already said by the answer."""

    def __init__(self, services: Services, *, region: str = DEFAULT_REGION, debug: bool = False) -> None:
        from jobu.api.resolver import create_resolver

        self.services = services
        self.region = region
        self.debug = debug
        self._app = create_resolver(reveal_causes=True)
        self._app.exception_handler(JobuToolError)(_raise)

    async def send(self, request: ApiRequest) -> ApiAnswer:
        from jobu.api.resolver import resolve
        from jobu.observability import metrics

        event = http_api_event(
            method=request.method,
            raw_path=request.path,
            raw_query=request.query,
            headers=[("content-type", "application/json")] if request.body is not None else [],
            body=request.body or b"",
            route_key=ROUTE_KEY,
            path_parameters={"proxy": request.path.lstrip("/")},
            source_ip="127.0.0.1",
            region=self.region,
            account_id=ACCOUNT_ID,
            authorizer=lambda_authorizer(cli_principal()),  # the audit trail's principal
        )
        try:
            with _core_log(debug=self.debug):
                response = await resolve(self._app, self.services, event, _context(self.region))
        finally:
            # The metrics operations record are CloudWatch's, from a Lambda function: nothing
            # publishes them here (and past 100 values Powertools would print them to stdout).
            metrics.clear_metrics()
        body = str(response.get("body") or "")
        content = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()
        return ApiAnswer(int(response["statusCode"]), content)


@contextmanager
def _core_log(*, debug: bool) -> Iterator[None]:
    """While a request runs, the core's logger writes to stderr: at DEBUG with `debug`, else at
    CRITICAL only (which the core never logs at)."""
    from jobu.observability import logger

    handler = logger.registered_handler
    level = logger.log_level
    # the stream swapped, not setStream(): that flushes the old one, which may be closed (in tests)
    stream = handler.stream if isinstance(handler, logging.StreamHandler) else None
    if isinstance(handler, logging.StreamHandler):
        handler.stream = sys.stderr
    logger.setLevel(logging.DEBUG if debug else logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)
        if isinstance(handler, logging.StreamHandler):
            handler.stream = stream


def _context(region: str) -> Any:
    request_id = str(uuid.uuid4())
    return LambdaContext(
        aws_request_id=request_id,
        function_name=FUNCTION_NAME,
        function_version="$LATEST",
        invoked_function_arn=f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{FUNCTION_NAME}",
        memory_limit_in_mb=256,
        log_group_name=f"/aws/lambda/{FUNCTION_NAME}",
        log_stream_name="jobu-cli",
        deadline_ms=int(time.time() * 1000) + int(TIMEOUT_SECONDS * 1000),
    )
