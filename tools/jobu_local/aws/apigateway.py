"""API Gateway HTTP APIs: the template's `HttpApi` events served on a loopback port.

For every function with an `HttpApi` event (payload format 2.0), a request to the port is matched
to a route as API Gateway matches it (the most specific path first, a method before `ANY`,
`$default` last), turned into the version 2.0 event AWS documents (headers lowercased, duplicates
joined with commas, cookies apart, query string parameters joined the same way, path parameters,
a body base64-encoded unless it is text), and the function is invoked like any other event source.
Its answer becomes the HTTP response: a `statusCode` object with its headers, cookies (one
`set-cookie` each), body and `isBase64Encoded`; any other JSON value means status 200 with that
value as an `application/json` body. A failed invocation is a 500, a timed-out one a 503, and a
request no route matches a 404, each with API Gateway's own body.

On AWS, API Gateway lets through only requests signed by a principal allowed to invoke the API. Here
the stand-in is the runtime's token: every request but `/health` and `/ready` needs
`Authorization: Bearer <token>`, and every request is checked as jobu_local.aws.loopback says (a Host
of this machine, no Origin of another site, JSON bodies of a sane length) before anything is read or
invoked. The runtime's viewer token plays the template's viewer policy: it may make GET requests
only, anything else is refused here with 403 as API Gateway refuses a viewer's, before the function
runs. The function finds who the token admitted in the request context (`local:<user>`, or
`local:<user>:viewer`), where API Gateway puts the signer's ARN.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from jobu_local.aws.loopback import (
    Refusal,
    bearer_is,
    body_length,
    content_type_refusal,
    host_refusal,
    origin_refusal,
    token_refusal,
)
from jobu_local.aws.source import Invoker, Observer, quiet
from jobu_local.host.config import Invocation
from jobu_local.principals import lambda_authorizer, local_token_principal
from jobu_local.template.reader import HttpApiSource

DEFAULT_PORT = 3000  # as `sam local start-api`
DEFAULT_ROUTE = "$default"
API_ID = "local"
# API Gateway waits at most 30 s for an HTTP API integration.
INTEGRATION_TIMEOUT_SECONDS = 30.0
# API Gateway's payload quota for an HTTP API request
MAX_BODY_BYTES = 10 * 1024 * 1024
# the probes stay open, as load balancers and scripts call them
OPEN_PATHS = frozenset({"/health", "/ready"})
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# a connection that sends nothing (or less than its Content-Length) for this long is closed
IDLE_SECONDS = 30
TEXT_TYPES = re.compile(r"^(text/.*|application/(json|xml|javascript|x-www-form-urlencoded)|.*\+(json|xml))$")
_PARAMETER = re.compile(r"\{([^}+]+)(\+?)\}")


@dataclass(frozen=True)
class Route:
    """One route key (`GET /items/{id}`, `ANY /{proxy+}`, `$default`) and the function behind it."""

    method: str  # upper case; ANY for any method; "" for $default
    path: str
    function: Invoker
    label: str
    timeout_seconds: float = INTEGRATION_TIMEOUT_SECONDS
    pattern: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        regex = ""
        position = 0
        for found in _PARAMETER.finditer(self.path):
            regex += re.escape(self.path[position : found.start()])
            regex += f"(?P<{found.group(1)}>.+)" if found.group(2) else f"(?P<{found.group(1)}>[^/]+)"
            position = found.end()
        regex += re.escape(self.path[position:])
        object.__setattr__(self, "pattern", re.compile(f"^{regex}$"))

    @property
    def key(self) -> str:
        return DEFAULT_ROUTE if not self.method else f"{self.method} {self.path}"

    def specificity(self) -> tuple[int, int, int, int]:
        """API Gateway prefers a route without a greedy variable, then the longest literal path,
        then a method over ANY; $default comes last."""
        if not self.method:
            return (0, 0, 0, 0)
        greedy = 0 if "+}" in self.path else 1
        literal = len(_PARAMETER.sub("", self.path))
        return (1, greedy, literal, 0 if self.method == "ANY" else 1)

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if not self.method:
            return {}
        if self.method not in {"ANY", method}:
            return None
        found = self.pattern.match(path)
        return None if found is None else {name: unquote(value) for name, value in found.groupdict().items()}


def routes_for(source: HttpApiSource, function: Invoker, label: str) -> Route:
    timeout = (source.timeout_millis or INTEGRATION_TIMEOUT_SECONDS * 1000) / 1000
    if source.path is None:
        return Route("", "", function, label, timeout)
    return Route(source.method.upper(), source.path, function, label, timeout)


def choose(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for route in sorted(routes, key=Route.specificity, reverse=True):
        parameters = route.match(method, path)
        if parameters is not None:
            return route, parameters
    return None


def _is_text(content_type: str | None) -> bool:
    return content_type is None or TEXT_TYPES.match(content_type.split(";")[0].strip().lower()) is not None


def http_api_event(
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    route_key: str,
    path_parameters: Mapping[str, str],
    source_ip: str,
    region: str,
    account_id: str,
    now: datetime | None = None,
    authorizer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The version 2.0 event API Gateway hands to a Lambda integration for one request; `authorizer`
    is what the request's authorization put in its context (who the caller is)."""
    moment = now or datetime.now(UTC)
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        lowered = name.lower()
        if lowered == "cookie":
            cookies += [part.strip() for part in value.split(";") if part.strip()]
            continue
        joined[lowered] = f"{joined[lowered]},{value}" if lowered in joined else value
    query: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    request_id = base64.b32encode(uuid.uuid4().bytes[:10]).decode().rstrip("=")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": joined,
        "requestContext": {
            "accountId": account_id,
            "apiId": API_ID,
            "domainName": f"{API_ID}.execute-api.{region}.amazonaws.com",
            "domainPrefix": API_ID,
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": joined.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": DEFAULT_ROUTE,
            "time": moment.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(moment.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if authorizer is not None:
        event["requestContext"]["authorizer"] = dict(authorizer)
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if body:
        text = _is_text(joined.get("content-type"))
        try:
            event["body"] = body.decode() if text else base64.b64encode(body).decode()
        except UnicodeDecodeError:
            text = False
            event["body"] = base64.b64encode(body).decode()
        event["isBase64Encoded"] = not text
    return event


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _error(status: int, message: str) -> HttpResponse:
    body = json.dumps({"message": message}).encode()
    return HttpResponse(status, [("content-type", "application/json")], body)


def http_response(invocation: Invocation) -> HttpResponse:
    """The HTTP response API Gateway makes of a version 2.0 Lambda response."""
    if invocation.status == "timeout":
        return _error(503, "Service Unavailable")
    if not invocation.ok:
        return _error(500, "Internal Server Error")
    result = invocation.result
    if not (isinstance(result, dict) and "statusCode" in result):
        # "If your Lambda function returns valid JSON and doesn't return a statusCode, API Gateway
        # assumes": status 200, content-type application/json, the response as the body.
        body = result if isinstance(result, str) else json.dumps(result)
        return HttpResponse(200, [("content-type", "application/json")], body.encode())
    try:
        status = int(result["statusCode"])
        headers = [(str(name), str(value)) for name, value in (result.get("headers") or {}).items()]
        headers += [("set-cookie", str(cookie)) for cookie in result.get("cookies") or []]
        raw = result.get("body")
        text = raw if isinstance(raw, str) else ("" if raw is None else json.dumps(raw))
        content = base64.b64decode(text) if result.get("isBase64Encoded") else text.encode()
    except (TypeError, ValueError, AttributeError):
        return _error(500, "Internal Server Error")  # a malformed response, as API Gateway answers it
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("content-type", "application/json"))
    return HttpResponse(status, headers, content)


@dataclass
class HttpApiServer:
    """The routes of every HttpApi event, served on one loopback port (a thread per request; each
    invocation runs on the runtime's event loop)."""

    routes: list[Route]
    host: str
    port: int
    region: str
    account_id: str
    loop: asyncio.AbstractEventLoop
    token: str  # what `Authorization: Bearer` must carry (the runtime's, in its state file)
    viewer_token: str | None = None  # the read-only one: GET requests only (the viewer policy's)
    observe: Observer = quiet
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        server = ThreadingHTTPServer((self.host, self.port), self._handler())
        server.daemon_threads = True
        self.port = int(server.server_address[1])
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="jobu-local-http-api", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def role(self, authorization: str | None) -> str | None:
        """`operator` for the runtime's token, `viewer` for its viewer token, else None."""
        if bearer_is(authorization, self.token):
            return "operator"
        return "viewer" if bearer_is(authorization, self.viewer_token) else None

    def admit(self, method: str, target: str, headers: Message) -> Refusal | int:
        """Why a request is refused, else the length of its body (nothing is read before this)."""
        host = headers.get("Host")
        refusal = host_refusal(host) or origin_refusal(headers.get("Origin"), host)
        if refusal is None and urlsplit(target).path not in OPEN_PATHS:
            role = self.role(headers.get("Authorization"))
            if role is None:
                refusal = token_refusal(headers.get("Authorization"), self.token)
            elif role == "viewer" and method.upper() not in READ_METHODS:
                refusal = Refusal(
                    403, "forbidden", "the viewer token may read (GET) only, as the viewer policy"
                )
        if refusal is not None:
            return refusal
        length = body_length(headers, MAX_BODY_BYTES)
        if isinstance(length, Refusal):
            return length
        return content_type_refusal(headers, length) or length

    def respond(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, ip: str
    ) -> HttpResponse:
        """One request, answered (called from the server's thread)."""
        parts = urlsplit(target)
        chosen = choose(self.routes, method, parts.path)
        if chosen is None:
            return _error(404, "Not Found")
        route, parameters = chosen
        role = self.role(next((value for name, value in headers if name.lower() == "authorization"), None))
        event = http_api_event(
            method=method,
            raw_path=parts.path,
            raw_query=parts.query,
            # the token stops here, as it would at the gateway: the function never sees it, nor logs it
            headers=[(name, value) for name, value in headers if name.lower() != "authorization"],
            body=body,
            route_key=route.key,
            path_parameters=parameters,
            source_ip=ip,
            region=self.region,
            account_id=self.account_id,
            # who the token admitted, as API Gateway names who signed: the audit trail's principal
            authorizer=None if role is None else lambda_authorizer(local_token_principal(role)),
        )
        future = asyncio.run_coroutine_threadsafe(self._invoke(route, event), self.loop)
        try:
            invocation = future.result(route.timeout_seconds)
        except TimeoutError:
            future.cancel()
            return _error(503, "Service Unavailable")
        return http_response(invocation)

    async def _invoke(self, route: Route, event: dict[str, Any]) -> Invocation:
        invocation = await route.function.invoke(event)
        self.observe(f"http {route.label}", invocation)
        return invocation

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = IDLE_SECONDS

            def _serve(self) -> None:
                admitted = server.admit(self.command, self.path, self.headers)
                if isinstance(admitted, Refusal):
                    self.close_connection = True  # its body, if any, is never read
                    document = {"error": admitted.error, "detail": admitted.detail}
                    self._answer(
                        HttpResponse(
                            admitted.status,
                            [("content-type", "application/json"), ("connection", "close")],
                            json.dumps(document).encode(),
                        )
                    )
                    return
                body = self.rfile.read(admitted) if admitted else b""
                if len(body) < admitted:  # the client went away, or sent less than it said
                    self.close_connection = True
                    return
                self._answer(
                    server.respond(
                        self.command, self.path, list(self.headers.items()), body, self.client_address[0]
                    )
                )

            def _answer(self, answer: HttpResponse) -> None:
                self.send_response(answer.status)
                for name, value in answer.headers:
                    self.send_header(name, value)
                self.send_header("content-length", str(len(answer.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return None  # the functions' own logs say what happened

        return Handler
