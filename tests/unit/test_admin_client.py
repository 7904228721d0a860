"""The `jobu` CLI's admin client: its interface is the admin API's route list, its HTTP requests are
built from the API's own routes and match the OpenAPI document, its errors read as the API's, and
its target is found from --api-url or a stack's AdminApiUrl output."""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, get_args, get_origin, get_type_hints

import boto3
import pytest
from aws_lambda_powertools.event_handler import Response
from pydantic import BaseModel

from jobu.api.resolver import create_resolver, openapi
from jobu.errors import InvalidStateError, NotFoundError, StoreUnavailableError
from jobu.models import ExecutionStatus
from jobu_local.admin.client import AdminClient
from jobu_local.admin.direct import DirectAdminClient, admin_error
from jobu_local.admin.http import HttpAdminClient, _failure, api_routes
from jobu_local.commands.admin_target import api_target, exit_status, http_client
from jobu_local.commands.cli import main, parser
from jobu_local.commands.targets import TargetError

RESOLVER = create_resolver()
ROUTES = {route.func.__name__: route.func for route in [*RESOLVER._static_routes, *RESOLVER._dynamic_routes]}
NOT_OPERATIONS = {"openapi_json"}  # the document itself
OPERATIONS = sorted(set(ROUTES) - NOT_OPERATIONS)
SPEC = openapi(RESOLVER)


def _interface_methods() -> set[str]:
    return {
        name for name, _ in inspect.getmembers(AdminClient, inspect.isfunction) if not name.startswith("_")
    }


def _parameters(function: Any) -> list[tuple[str, Any, Any]]:
    """(name, type without Annotated, default) of each parameter but `self` and the route's `admin`."""
    hints = get_type_hints(function)
    return [
        (name, hints[name], parameter.default)
        for name, parameter in inspect.signature(function).parameters.items()
        if name not in {"self", "admin"}
    ]


def _answer(function: Any) -> Any:
    answer = get_type_hints(function)["return"]
    empty = answer is type(None) or answer is Response or get_origin(answer) is Response
    return None if empty else answer


def test_the_interface_is_the_apis_route_list() -> None:
    assert _interface_methods() == set(OPERATIONS)


@pytest.mark.parametrize("name", OPERATIONS)
def test_each_method_takes_and_answers_what_its_route_does(name: str) -> None:
    route = ROUTES[name]
    for implementation in (AdminClient, DirectAdminClient, HttpAdminClient):
        method = getattr(implementation, name)
        assert _parameters(method) == _parameters(route), implementation.__name__
        assert _answer(method) == _answer(route), implementation.__name__


def _schema_name(answer: Any) -> str:
    """The name the OpenAPI document gives a model: Page[CronJob] is Page_CronJob_."""
    return re.sub(r"\W", "_", answer.__name__)


def _success_schema(operation: dict[str, Any]) -> dict[str, Any] | None:
    (status,) = [code for code in operation["responses"] if code.startswith("2")]
    content = operation["responses"][status].get("content")
    return None if content is None else content["application/json"]["schema"]


@pytest.mark.parametrize("name", OPERATIONS)
def test_the_requests_match_the_openapi_document(name: str) -> None:
    route = api_routes()[name]
    operation = SPEC["paths"][route.path][route.method.lower()]
    documented = {(p["in"], p["name"]) for p in operation.get("parameters", [])}
    assert documented == {("path", p) for p in route.path_params} | {
        ("query", wire) for wire in route.query_params.values()
    }
    assert ("requestBody" in operation) == (route.body_param is not None)
    schema = _success_schema(operation)
    if route.answer is None:
        assert schema is None
    elif get_origin(route.answer) is list:
        (item,) = get_args(route.answer)
        assert schema is not None
        assert (schema["type"], schema["items"]) == (
            "array",
            {"$ref": f"#/components/schemas/{_schema_name(item)}"},
        )
    else:
        assert issubclass(route.answer, BaseModel) or dataclasses.is_dataclass(route.answer)
        assert schema == {"$ref": f"#/components/schemas/{_schema_name(route.answer)}"}


def test_a_request_url_carries_path_query_and_wire_names() -> None:
    base = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"
    listing = api_routes()["list_runs"].url(
        base,
        {
            "page": 2,
            "size": 5,
            "cron_id": None,
            "status": ExecutionStatus.FAILED,
            "handler_name": "a b&c",
            "from_date": datetime(2026, 11, 1, 12, 0, tzinfo=timezone(timedelta(hours=1))),
            "to_date": None,
        },
    )
    assert listing == (
        f"{base}/api/jobs?page=2&size=5&status=FAILED&handler_name=a+b%26c&from_date=2026-11-01T12%3A00%3A00%2B01%3A00"
    )
    assert (
        api_routes()["peek_dead_letters"].url(base, {"max_messages": 3})
        == f"{base}/api/dead-letters/messages?max=3"
    )
    assert (
        api_routes()["list_cron_jobs"].url(base, {"is_enabled": False})
        == f"{base}/api/crons?is_enabled=false"
    )
    assert api_routes()["retry_run"].url(base, {"run_id": 42}) == f"{base}/api/jobs/42/retry"


def test_the_apis_errors_become_one_line_admin_errors() -> None:
    missing = _failure(404, b'{"error": "not_found", "detail": "no run with id 4"}')
    assert (str(missing), missing.refused, exit_status(missing)) == ("not_found: no run with id 4", True, 2)
    invalid = _failure(
        400,
        json.dumps(
            {
                "error": "validation_error",
                "detail": [
                    {
                        "loc": ["body", "name"],
                        "msg": "String should have at most 100 characters",
                        "type": "x",
                    },
                    {
                        "loc": ["query", "size"],
                        "msg": "Input should be less than or equal to 100",
                        "type": "y",
                    },
                ],
            }
        ).encode(),
    )
    assert str(invalid) == (
        "validation_error: name: String should have at most 100 characters; "
        "size: Input should be less than or equal to 100"
    )
    forbidden = _failure(403, b'{"message": "Forbidden"}')
    assert str(forbidden).startswith("forbidden: Forbidden: API Gateway refused the request")
    assert forbidden.refused
    down = _failure(503, b'{"error": "database_unavailable", "detail": "connection refused"}')
    assert (down.refused, exit_status(down)) == (False, 1)
    page = _failure(502, b"<html>\n<body>\nBad\n gateway</body></html>" + b"x" * 1000)
    assert "\n" not in str(page)
    assert str(page).startswith("http_502: <html> <body> Bad gateway")
    assert len(str(page)) < 420


def test_jobu_errors_read_as_the_api_answers_them() -> None:
    assert (admin_error(NotFoundError("no run with id 4")).status, str(admin_error(NotFoundError("x")))) == (
        404,
        "not_found: x",
    )
    assert admin_error(InvalidStateError("run 4 is SUCCESS")).error == "invalid_state"
    unavailable = admin_error(StoreUnavailableError("down"))
    assert (unavailable.status, unavailable.error, unavailable.refused) == (
        503,
        "database_unavailable",
        False,
    )


# --- where: --api-url and --stack-name -----------------------------------------------------------


def test_an_execute_api_url_names_the_region_requests_are_signed_for(aws_env: None) -> None:
    client = http_client(
        "https://abc123.execute-api.ap-southeast-2.amazonaws.com/", None, region_name=None, profile=None
    )
    assert isinstance(client, HttpAdminClient)
    assert client.signer is not None
    assert (client.base_url, client.signer.region, client.signer.service) == (
        "https://abc123.execute-api.ap-southeast-2.amazonaws.com",
        "ap-southeast-2",
        "execute-api",
    )
    assert (
        api_target("https://admin.example.com/", None, region_name="eu-west-3", profile=None)[1]
        == "eu-west-3"
    )


@pytest.mark.usefixtures("no_aws_credentials")
def test_without_credentials_only_a_loopback_api_is_called_unsigned() -> None:
    local = http_client("http://127.0.0.1:3000", None, region_name="us-east-1", profile=None)
    assert isinstance(local, HttpAdminClient)
    assert local.signer is None
    with pytest.raises(TargetError, match="no AWS credentials to sign requests with"):
        http_client(
            "https://abc123.execute-api.us-east-1.amazonaws.com/", None, region_name=None, profile=None
        )


STACK_TEMPLATE = {
    "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "jobu-work"}}},
    "Outputs": {
        "AdminApiUrl": {"Value": "https://abc123.execute-api.eu-west-1.amazonaws.com/"},
        "WorkQueueUrl": {"Value": {"Ref": "Queue"}},
    },
}


def test_a_stack_name_finds_the_admin_api_in_the_stacks_outputs(aws_env: None) -> None:
    cloudformation = boto3.client("cloudformation", region_name="eu-west-1")
    cloudformation.create_stack(StackName="jobu-prod", TemplateBody=json.dumps(STACK_TEMPLATE))
    no_api = {**STACK_TEMPLATE, "Outputs": {"WorkQueueUrl": STACK_TEMPLATE["Outputs"]["WorkQueueUrl"]}}
    cloudformation.create_stack(StackName="other", TemplateBody=json.dumps(no_api))

    assert api_target(None, "jobu-prod", region_name="eu-west-1", profile=None) == (
        "https://abc123.execute-api.eu-west-1.amazonaws.com/",
        "eu-west-1",
    )
    client = http_client(None, "jobu-prod", region_name="eu-west-1", profile=None)
    assert isinstance(client, HttpAdminClient)
    assert client.signer is not None
    assert (client.base_url, client.signer.region) == (
        "https://abc123.execute-api.eu-west-1.amazonaws.com",
        "eu-west-1",
    )
    with pytest.raises(
        TargetError, match=r"stack 'other' \(eu-west-1\) has no AdminApiUrl output; it has: WorkQueueUrl"
    ):
        api_target(None, "other", region_name="eu-west-1", profile=None)
    with pytest.raises(TargetError, match="cannot read stack 'jobu-prod'"):
        api_target(None, "jobu-prod", region_name="us-west-2", profile=None)  # another region: no such stack


def test_a_missing_stack_is_one_line_and_status_2(aws_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "--stack-name", "nope", "--region", "eu-west-1"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("jobu: cannot read stack 'nope'")
    assert len(error.splitlines()) == 1


# --- the command line ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["runs", "--json", "show", "3"], {"json": True, "id": 3}),
        (["runs", "show", "3", "--api-url", "http://x"], {"api_url": "http://x", "json": False}),
        (["runs", "--api-url", "http://x", "show", "3"], {"api_url": "http://x"}),
        (["runs", "--status", "failed", "--from", "2026-11-01"], {"status": ExecutionStatus.FAILED}),
        (["runs", "rejected", "--api-url", "http://x", "show", "3"], {"api_url": "http://x", "id": 3}),
        (["runs", "--limit", "7"], {"size": 7, "page": 1}),
        (["dlq", "--api-url", "http://x", "peek"], {"api_url": "http://x", "max": None}),
        (["cron", "remove", "nightly"], {"job": "nightly"}),
    ],
)
def test_options_given_before_or_after_a_sub_command_both_count(
    argv: list[str], expected: dict[str, Any]
) -> None:
    args = vars(parser().parse_args(argv))
    assert {key: args[key] for key in expected} == expected


def test_run_dates_read_as_utc_or_durations_ago() -> None:
    args = parser().parse_args(["runs", "--from", "2026-11-01T12:00", "--to", "1h"])
    assert args.from_date == datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    assert datetime.now(UTC) - args.to_date == pytest.approx(timedelta(hours=1), abs=timedelta(seconds=60))
