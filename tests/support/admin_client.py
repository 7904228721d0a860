"""Calls the admin function's real entry point with API Gateway HTTP API (payload 2.0) events.

Each request is built from events/admin_api_create_cron.json (the shape AWS documents, with the
IAM authorizer's context), with its method, path, query and body replaced, the way API Gateway
fills them for the route `ANY /{proxy+}`: repeated query parameters joined with commas, the raw
query string kept as sent.
"""

from __future__ import annotations

import base64
import copy
import json
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlencode

from functions.admin_api import app as admin_app
from tests.conftest import load_event
from tests.support.harness import FakeLambdaContext

SAMPLE = load_event("admin_api_create_cron.json")


@dataclass
class AdminResponse:
    status: int
    headers: dict[str, str]
    body: str

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def api_event(
    method: str,
    path: str,
    *,
    query: str | dict[str, Any] | None = None,
    body: Any = None,
    raw_body: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An HTTP API payload 2.0 event for one request; `query` a dict or an already encoded string."""
    event = copy.deepcopy(SAMPLE)
    raw_query = urlencode(query, doseq=True) if isinstance(query, dict) else (query or "")
    joined: dict[str, list[str]] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        joined.setdefault(name, []).append(value)
    text = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
    event["rawPath"] = path
    event["rawQueryString"] = raw_query
    event["pathParameters"] = {"proxy": path.lstrip("/")}
    if joined:
        event["queryStringParameters"] = {name: ",".join(values) for name, values in joined.items()}
    event["requestContext"]["http"]["method"] = method
    event["requestContext"]["http"]["path"] = path
    event["requestContext"]["requestId"] = uuid.uuid4().hex
    event["headers"] = {
        k: v for k, v in event["headers"].items() if k not in ("content-length", "content-type")
    }
    event["headers"].update(headers or {})
    if text is None:
        event.pop("body", None)
    else:
        event["body"] = text
        event["headers"].setdefault("content-type", "application/json")
        event["headers"]["content-length"] = str(len(text.encode()))
    return event


def invoke(event: dict[str, Any]) -> AdminResponse:
    result = admin_app.handler(event, FakeLambdaContext(function_name="admin"))
    return AdminResponse(
        status=int(result["statusCode"]),
        headers=dict(result.get("headers") or {}),
        body=result.get("body") or "",
    )


class AdminClient:
    """requests-like calls on the admin function: client.get("/api/crons", query={"size": 5})."""

    def request(self, method: str, path: str, **kwargs: Any) -> AdminResponse:
        return invoke(api_event(method, path, **kwargs))

    def get(self, path: str, **kwargs: Any) -> AdminResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> AdminResponse:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> AdminResponse:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> AdminResponse:
        return self.request("DELETE", path, **kwargs)


def reset() -> None:
    admin_app.container.reset()


def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """The admin function as a WSGI application, for tools that drive an HTTP server (schemathesis):
    each request becomes an HTTP API payload 2.0 event for the real handler, as API Gateway makes
    it (lower-cased headers, a body that is not UTF-8 text sent base64-encoded)."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    headers = {
        key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    try:
        text: str | None = raw.decode("utf-8") if raw else None
        encoded = False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(raw).decode("ascii"), True
    event = api_event(
        environ["REQUEST_METHOD"],
        environ.get("PATH_INFO") or "/",
        query=environ.get("QUERY_STRING", ""),
        raw_body=text,
        headers=headers,
    )
    event["isBase64Encoded"] = encoded
    if "content-type" not in headers:
        event["headers"].pop("content-type", None)
    response = invoke(event)
    body = response.body.encode("utf-8")
    start_response(f"{response.status} {HTTPStatus(response.status).phrase}", list(response.headers.items()))
    return [body]
