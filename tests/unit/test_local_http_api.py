"""API Gateway HTTP API (payload format 2.0), played locally: the request event as AWS documents it
(checked with Powertools' parser model), the route API Gateway would choose, and the HTTP response
it makes of the function's answer."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model

from jobu_local.aws.apigateway import Route, choose, http_api_event, http_response
from jobu_local.host.config import Invocation


class Nobody:
    async def invoke(self, event: dict[str, Any]) -> Invocation:
        raise AssertionError("not invoked in these tests")


def event(**overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "method": "POST",
        "raw_path": "/items/42",
        "raw_query": "tag=a&tag=b&q=x%20y&empty=",
        "headers": [
            ("Content-Type", "application/json"),
            ("X-Trace", "one"),
            ("x-trace", "two"),
            ("Cookie", "session=abc; theme=dark"),
            ("User-Agent", "curl/8"),
        ],
        "body": b'{"name": "x"}',
        "route_key": "POST /items/{id}",
        "path_parameters": {"id": "42"},
        "source_ip": "127.0.0.1",
        "region": "us-east-1",
        "account_id": "123456789012",
        "now": datetime(2026, 11, 30, 7, 0, 1, tzinfo=UTC),
    }
    return http_api_event(**(arguments | overrides))


def test_the_request_event_is_api_gateways_version_2() -> None:
    shaped = event()

    parsed = parse(event=shaped, model=APIGatewayProxyEventV2Model)
    assert parsed.version == "2.0"
    assert (shaped["routeKey"], shaped["rawPath"]) == ("POST /items/{id}", "/items/42")
    assert shaped["rawQueryString"] == "tag=a&tag=b&q=x%20y&empty="
    assert shaped["headers"] == {
        "content-type": "application/json",
        "x-trace": "one,two",
        "user-agent": "curl/8",
    }  # lowercased, duplicates joined, the cookie header moved to `cookies`
    assert shaped["cookies"] == ["session=abc", "theme=dark"]
    assert shaped["queryStringParameters"] == {"tag": "a,b", "q": "x y", "empty": ""}
    assert shaped["pathParameters"] == {"id": "42"}
    assert (shaped["body"], shaped["isBase64Encoded"]) == ('{"name": "x"}', False)
    context = shaped["requestContext"]
    assert context["http"] == {
        "method": "POST",
        "path": "/items/42",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "curl/8",
    }
    assert (context["routeKey"], context["stage"], context["accountId"]) == (
        "POST /items/{id}",
        "$default",
        "123456789012",
    )
    assert (context["time"], context["timeEpoch"]) == ("30/Nov/2026:07:00:01 +0000", 1796022001000)


def test_a_binary_body_is_base64_encoded_and_absent_parts_are_left_out() -> None:
    binary = event(headers=[("content-type", "application/octet-stream")], body=b"\x00\xff", raw_query="")
    bare = event(method="GET", headers=[], body=b"", raw_query="", path_parameters={})

    assert (binary["body"], binary["isBase64Encoded"]) == (base64.b64encode(b"\x00\xff").decode(), True)
    assert "queryStringParameters" not in binary
    assert not {"body", "cookies", "queryStringParameters", "pathParameters"} & set(bare)
    assert bare["isBase64Encoded"] is False
    parse(event=bare, model=APIGatewayProxyEventV2Model)


ROUTES = [
    Route("GET", "/items/{id}", Nobody(), "items"),
    Route("GET", "/items/special", Nobody(), "special"),
    Route("ANY", "/items/{id}", Nobody(), "any-item"),
    Route("ANY", "/{proxy+}", Nobody(), "proxy"),
    Route("", "", Nobody(), "default"),
]


@pytest.mark.parametrize(
    ("method", "path", "label", "parameters"),
    [
        ("GET", "/items/special", "special", {}),  # a literal path beats a variable
        ("GET", "/items/7", "items", {"id": "7"}),  # a method beats ANY
        ("DELETE", "/items/7", "any-item", {"id": "7"}),
        ("GET", "/a/b/c", "proxy", {"proxy": "a/b/c"}),  # greedy variables take slashes
        ("GET", "/items/a%20b", "items", {"id": "a b"}),
    ],
)
def test_routes_are_chosen_as_api_gateway_chooses(
    method: str, path: str, label: str, parameters: dict[str, str]
) -> None:
    chosen = choose(ROUTES, method, path)
    assert chosen is not None
    assert (chosen[0].label, chosen[1]) == (label, parameters)


def test_default_route_catches_what_nothing_else_does() -> None:
    chosen = choose(
        [Route("GET", "/health", Nobody(), "health"), Route("", "", Nobody(), "default")], "POST", "/x"
    )
    assert chosen is not None
    assert (chosen[0].label, chosen[0].key) == ("default", "$default")
    assert choose([Route("GET", "/health", Nobody(), "health")], "POST", "/health") is None


def answered(
    result: Any, ok: bool = True, status: str = "success"
) -> tuple[int, dict[str, list[str]], bytes]:
    response = http_response(Invocation("r", ok, result=result, status=status))
    headers: dict[str, list[str]] = {}
    for name, value in response.headers:
        headers.setdefault(name.lower(), []).append(value)
    return response.status, headers, response.body


def test_a_response_with_a_status_code_is_sent_as_it_says() -> None:
    status, headers, body = answered(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "text/plain", "X-Id": "9"},
            "cookies": ["a=1; Path=/", "b=2"],
            "body": "created",
        }
    )
    assert (status, body) == (201, b"created")
    assert headers == {"content-type": ["text/plain"], "x-id": ["9"], "set-cookie": ["a=1; Path=/", "b=2"]}


def test_a_base64_body_is_decoded() -> None:
    _, _, body = answered(
        {"statusCode": 200, "body": base64.b64encode(b"\x89PNG").decode(), "isBase64Encoded": True}
    )
    assert body == b"\x89PNG"


@pytest.mark.parametrize(
    ("result", "body"),
    [({"items": [1, 2]}, b'{"items": [1, 2]}'), ("Hello from Lambda!", b"Hello from Lambda!"), ([1], b"[1]")],
)
def test_a_bare_json_value_means_200_with_that_value_as_the_body(result: Any, body: bytes) -> None:
    assert answered(result) == (200, {"content-type": ["application/json"]}, body)


def test_failures_answer_as_api_gateway_does() -> None:
    assert answered(None, ok=False, status="error")[::2] == (500, b'{"message": "Internal Server Error"}')
    assert answered(None, ok=False, status="timeout")[::2] == (503, b'{"message": "Service Unavailable"}')
    assert answered({"statusCode": "not a number"})[0] == 500
    assert answered({"statusCode": 204})[::2] == (204, b"")
