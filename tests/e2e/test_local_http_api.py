"""The local runtime serves a template's HttpApi events over HTTP: a tiny function of the test's own
template gets API Gateway's version 2.0 event and its answers come back as HTTP responses."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from jobu_local.runtime.runtime import LocalRuntime, RuntimeOptions

APP = """
import base64, json

def handler(event, context):
    path = event["rawPath"]
    if path == "/echo":
        return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(event)}
    if path == "/bare":
        return {"count": 2}
    if path == "/png":
        return {"statusCode": 200, "headers": {"content-type": "image/png"},
                "body": base64.b64encode(b"\\x89PNG").decode(), "isBase64Encoded": True}
    if path.startswith("/items/"):
        return {"statusCode": 201, "cookies": ["seen=1; Path=/", "theme=dark"],
                "headers": {"x-item": event["pathParameters"]["id"]}, "body": "created"}
    raise ValueError("boom")
"""
TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  ToyApiFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: toy
      Handler: app.handler
      Runtime: python3.12
      Timeout: 10
      Events:
        Echo:
          Type: HttpApi
          Properties: {Path: /echo, Method: post}
        Item:
          Type: HttpApi
          Properties: {Path: "/items/{id}", Method: put}
        Anything:
          Type: HttpApi
"""


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[LocalRuntime]:
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "app.py").write_text(APP)
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    started = LocalRuntime(
        RuntimeOptions(
            template_path=tmp_path / "template.yaml",
            state_dir=tmp_path / "state",
            database_url=f"sqlite:///{tmp_path / 'jobu.db'}",
            http_port=0,
            dashboard_port=None,
        )
    )
    await started.start()
    yield started
    await started.stop()


def request(
    runtime: LocalRuntime,
    path: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, bytes]:
    """A request to the runtime's HTTP API with its token, as the CLI and the dashboard send it."""
    assert runtime.http_api is not None
    authorized = {"Authorization": f"Bearer {runtime.token}"} | (headers or {})
    prepared = urllib.request.Request(
        runtime.http_api.url + path, data=body, method=method, headers=authorized
    )
    try:
        with urllib.request.urlopen(prepared, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


async def test_requests_reach_the_function_as_api_gateway_events(runtime: LocalRuntime) -> None:
    status, _, body = await asyncio.to_thread(
        request,
        runtime,
        "/echo?tag=a&tag=b",
        "POST",
        b'{"name": "x"}',
        {"Content-Type": "application/json", "Cookie": "session=abc; theme=dark", "X-Trace": "t1"},
    )

    assert status == 200
    event = json.loads(body)
    assert (event["version"], event["routeKey"], event["rawPath"]) == ("2.0", "POST /echo", "/echo")
    assert (event["rawQueryString"], event["queryStringParameters"]) == ("tag=a&tag=b", {"tag": "a,b"})
    assert event["cookies"] == ["session=abc", "theme=dark"]
    assert (event["headers"]["x-trace"], event["headers"]["content-type"]) == ("t1", "application/json")
    assert "cookie" not in event["headers"]
    assert "authorization" not in event["headers"]  # the token stops at the gateway
    assert (event["body"], event["isBase64Encoded"]) == ('{"name": "x"}', False)
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"


async def test_responses_come_back_as_http(runtime: LocalRuntime) -> None:
    created = await asyncio.to_thread(request, runtime, "/items/42", "PUT", b"")
    bare = await asyncio.to_thread(request, runtime, "/bare")
    png = await asyncio.to_thread(request, runtime, "/png")
    failed = await asyncio.to_thread(request, runtime, "/fails")
    wrong_method = await asyncio.to_thread(request, runtime, "/items/42", "GET")

    assert (created[0], created[2], created[1]["x-item"]) == (201, b"created", "42")
    assert created[1].get_all("set-cookie") == ["seen=1; Path=/", "theme=dark"]
    assert (bare[0], bare[1]["content-type"], json.loads(bare[2])) == (200, "application/json", {"count": 2})
    assert (png[0], png[1]["content-type"], png[2]) == (200, "image/png", b"\x89PNG")
    assert (failed[0], json.loads(failed[2])) == (500, {"message": "Internal Server Error"})
    assert wrong_method[0] == 500  # no GET /items/{id}: the $default route (the function raises)
    routes = {source for function, source, _ in runtime.invocations if function == "ToyApiFunction"}
    assert routes == {"http ToyApiFunction"}
