"""The dashboard's HTTP server, on loopback only: the pages, the admin API behind them, a run's logs.

| path | what |
|---|---|
| `/`, `/static/...` | the pages (static/: plain ES modules and one CSS file, no build step) |
| `/api/...`, `/openapi.json`, `/health`, `/ready` | proxied to the admin API: the local runtime's HTTP |
| | API, or a deployed stack's AdminApiUrl with each request signed (SigV4, the user's credentials) |
| `/dashboard/context` | what the pages need to know: local or AWS, and whether log lines can be read |
| `/dashboard/runs/{id}/logs?from=&to=` | the run's log lines (jobu_local.dashboard.run_logs) |

Whoever reaches the port acts with the user's AWS credentials, so besides binding 127.0.0.1 the
server answers only requests whose Host is its own (no DNS rebinding), with no Origin of another
site, and, for everything but the pages' own files, that carry the token printed in its URL (no
other page in the browser and no other user of the machine can call through it: a cross-site
request cannot set the header). A request target is taken only in origin form (`/path?query`),
its path plain (no percent-escapes, no `.` or `..` segments): the admin API's URL is that API's
base and a path under `/api/` (or its probes), never a host or a path the request chose. A body
must be JSON with a sane Content-Length. The proxy never follows a redirect.
"""

from __future__ import annotations

import hmac
import json
import mimetypes
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode

from jobu_local.aws.loopback import (
    LOOPBACK,
    Refusal,
    body_length,
    content_type_refusal,
    origin_refusal,
)
from jobu_local.aws.sigv4 import SigningError, SigV4Signer, send
from jobu_local.dashboard.run_logs import RunLogSource

STATIC_DIR = Path(__file__).with_name("static")
DEFAULT_PORT = 3001
TOKEN_HEADER = "X-Jobu-Dashboard-Token"
PROXIED = re.compile(r"^/(api/.+|openapi\.json|health|ready)$")
# a plain path: no percent-escapes, backslashes, spaces or controls (checked for `.` segments apart)
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9._~/-]*")
RUN_LOGS = re.compile(r"^/dashboard/runs/([1-9][0-9]{0,18})/logs$")
FORWARDED_HEADERS = ("content-type", "accept")
MAX_BODY = 1024 * 1024  # the admin API's bodies are small: a cron job, params, a filter
MAX_QUERY_FIELDS = 100
IDLE_SECONDS = 30  # a connection that sends nothing (or less than its Content-Length) is closed then
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class DashboardConfig:
    """Where the admin API is, how to reach it, and where the functions' logs are."""

    api_url: str  # the admin API's base URL
    signer: SigV4Signer | None = None  # on AWS; None for the local runtime's HTTP API
    api_token: str | None = None  # the local runtime's token, sent as Authorization: Bearer
    logs: RunLogSource | None = None
    label: str = "local"  # what the pages call this deployment (the stack name on AWS)

    @property
    def on_aws(self) -> bool:
        return self.signer is not None

    @property
    def authentication(self) -> str:
        if self.api_token:
            return "with the local runtime's token"
        if self.signer is not None:
            return "signed with your AWS credentials (SigV4)"
        return "unsigned (loopback, no AWS credentials)"


class DashboardServer:
    """Serves the dashboard on 127.0.0.1:port (0: any free port) in a thread of its own."""

    def __init__(
        self, config: DashboardConfig, port: int = DEFAULT_PORT, *, token: str | None = None
    ) -> None:
        self.config = config
        self.token = token or secrets.token_urlsafe(24)
        self._server = ThreadingHTTPServer((LOOPBACK, port), _handler_class(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        port: int = self._server.server_address[1]
        return port

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def url(self) -> str:
        """The address to open: the token rides in the query once, the page keeps it for the tab."""
        return f"{self.base_url}/?token={self.token}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name="jobu-dashboard", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def allowed_host(self, host: str | None) -> bool:
        return host in {f"{LOOPBACK}:{self.port}", f"localhost:{self.port}"}

    def allowed_token(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token.encode(), self.token.encode())


def _handler_class(dashboard: DashboardServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        server_side = dashboard

    return Handler


class _Handler(BaseHTTPRequestHandler):
    server_side: DashboardServer
    protocol_version = "HTTP/1.1"
    timeout = IDLE_SECONDS

    def log_message(self, format: str, *args: Any) -> None:
        return None  # the pages poll; a line per request would drown the runtime's own output

    def do_GET(self) -> None:  # http.server's naming
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        dashboard = self.server_side
        host = self.headers.get("Host")
        if not dashboard.allowed_host(host):
            self._refuse(Refusal(403, "forbidden", "the dashboard answers on its own address only"))
            return
        if refusal := origin_refusal(self.headers.get("Origin"), host):
            self._refuse(refusal)
            return
        target = origin_form(self.path)
        if target is None:
            self._refuse(Refusal(400, "bad_request", "the request target must be a plain /path?query"))
            return
        path, query = target
        if self.command == "GET" and (path == "/" or path.startswith("/static/")):
            self._static(path)
            return
        if not dashboard.allowed_token(self.headers.get(TOKEN_HEADER)):
            self._refuse(Refusal(401, "unauthorized", "open the dashboard with the URL it printed"))
            return
        try:
            self._route(path, query)
        except SigningError as error:
            self._json(502, {"error": "signing_failed", "detail": str(error)})

    def _route(self, path: str, query: str) -> None:
        config = self.server_side.config
        if PROXIED.match(path):
            self._proxy(path, query)
        elif path == "/dashboard/context" and self.command == "GET":
            self._json(
                200,
                {"label": config.label, "on_aws": config.on_aws, "logs": config.logs is not None},
            )
        elif (found := RUN_LOGS.match(path)) and self.command == "GET":
            self._run_logs(int(found.group(1)), query)
        else:
            self._refuse(Refusal(404, "not_found", "no such path"))

    def _static(self, path: str) -> None:
        relative = "index.html" if path == "/" else path.removeprefix("/static/")
        file = (STATIC_DIR / relative).resolve()
        if not file.is_relative_to(STATIC_DIR.resolve()) or not file.is_file():
            self._json(404, {"error": "not_found", "detail": "no such file"})
            return
        content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if file.suffix == ".js":
            content_type = "text/javascript"
        self._send(200, f"{content_type}; charset=utf-8", file.read_bytes())

    def _proxy(self, path: str, query: str) -> None:
        config = self.server_side.config
        length = body_length(self.headers, MAX_BODY)
        refusal = length if isinstance(length, Refusal) else content_type_refusal(self.headers, length)
        if refusal is not None:
            self._refuse(refusal)
            return
        assert isinstance(length, int)
        body = self.rfile.read(length) if length else None
        headers = {name: value for name in FORWARDED_HEADERS if (value := self.headers.get(name))}
        if config.api_token:
            headers["Authorization"] = f"Bearer {config.api_token}"
        url = upstream_url(config.api_url, path, query)
        if url is None:
            self._json(400, {"error": "bad_request", "detail": "the query string has too many fields"})
            return
        try:
            answer = send(self.command, url, body=body, headers=headers, signer=config.signer)
        except OSError as error:
            detail = f"the admin API at {config.api_url} did not answer: {error}"
            self._json(502, {"error": "admin_api_unreachable", "detail": detail})
            return
        if 300 <= answer.status < 400:
            location = next((v for k, v in answer.headers.items() if k.lower() == "location"), "")
            detail = f"the admin API redirected ({answer.status} to {location[:200]!r}): not followed"
            self._json(502, {"error": "admin_api_redirected", "detail": detail})
            return
        content_type = next((v for k, v in answer.headers.items() if k.lower() == "content-type"), None)
        self._send(answer.status, content_type, answer.body)

    def _run_logs(self, execution_id: int, query_text: str) -> None:
        source = self.server_side.config.logs
        if source is None:
            self._json(404, {"error": "no_logs", "detail": "this dashboard was started without log groups"})
            return
        query = parse_qs(query_text)
        try:
            start = _moment(query.get("from", [""])[0]) or datetime.now(UTC)
            end = _moment(query.get("to", [""])[0])
        except ValueError as error:
            self._json(400, {"error": "validation_error", "detail": str(error)})
            return
        try:
            found = source.lines(execution_id, start, end)
        except Exception as error:  # botocore's errors, an unreachable endpoint: said, not raised
            self._json(502, {"error": "logs_unavailable", "detail": f"{type(error).__name__}: {error}"})
            return
        self._json(200, found)

    def _refuse(self, refusal: Refusal) -> None:
        self.close_connection = True  # a body it may have sent is never read
        self._json(refusal.status, {"error": refusal.error, "detail": refusal.detail})

    def _json(self, status: int, document: Any) -> None:
        self._send(status, "application/json", json.dumps(document).encode())

    def _send(self, status: int, content_type: str | None, body: bytes) -> None:
        self.send_response(status)
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def origin_form(target: str) -> tuple[str, str] | None:
    """The plain path and the query of a request target in origin form (`/path?query`); None for
    anything else: an absolute URL, `//host`, a fragment, percent-escapes or `.` and `..` segments
    in the path (a path that would read differently to the server it is passed to)."""
    path, _, query = target.partition("?")
    if "#" in target or not _PLAIN_PATH.fullmatch(path) or "//" in path:
        return None
    if any(segment in {".", ".."} for segment in path.split("/")):
        return None
    return path, query


def upstream_url(api_url: str, path: str, query: str) -> str | None:
    """The admin API's URL for a proxied path (checked by `origin_form` and PROXIED): the API's base,
    the path, and the query re-encoded from its parsed pairs (None: too many of them)."""
    try:
        pairs = parse_qsl(query, keep_blank_values=True, max_num_fields=MAX_QUERY_FIELDS)
    except ValueError:
        return None
    return api_url.rstrip("/") + path + (f"?{urlencode(pairs)}" if pairs else "")


def _moment(text: str) -> datetime | None:
    """An ISO 8601 time (UTC when it has no offset), or None for nothing."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO 8601 time: {text[:40]!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
