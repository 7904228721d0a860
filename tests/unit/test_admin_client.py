"""The `jobu` CLI's admin client: it calls the admin API's routes by their functions, builds each
request from the API's own route table (checked against the OpenAPI document), reads every answer
that is not 2xx as one AdminError, and finds its target from --api-url or a stack's AdminApiUrl.
Both transports are tested together in tests/integration/test_admin_client.py."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, get_args, get_origin

import boto3
import pytest
from pydantic import BaseModel

from jobu.api.resolver import create_resolver, openapi
from jobu.api.routes import cron_jobs, dead_letters, runs
from jobu.models import ExecutionStatus
from jobu.operations.cron_jobs import RunNowRequest
from jobu_local.admin.client import AdminClient, ApiAnswer, ApiRequest, api_routes
from jobu_local.admin.errors import failure
from jobu_local.admin.transports import HttpTransport
from jobu_local.commands.admin_target import api_target, http_transport
from jobu_local.commands.cli import main, parser
from jobu_local.commands.targets import TargetError

RESOLVER = create_resolver()
ROUTES = [route.func for route in [*RESOLVER._static_routes, *RESOLVER._dynamic_routes]]
NOT_OPERATIONS = {"openapi_json"}  # the document itself
OPERATIONS = sorted((f for f in ROUTES if f.__name__ not in NOT_OPERATIONS), key=lambda f: f.__name__)
SPEC = openapi(RESOLVER)


def test_every_route_of_the_api_is_callable_by_its_function() -> None:
    table = api_routes()
    assert {route.__name__ for route in table} == {route.__name__ for route in ROUTES}
    assert all(route in table for route in OPERATIONS)  # the very functions the routers hold


def _schema_name(answer: Any) -> str:
    """The name the OpenAPI document gives a model: Page[CronJob] is Page_CronJob_."""
    return re.sub(r"\W", "_", answer.__name__)


def _success_schema(operation: dict[str, Any]) -> dict[str, Any] | None:
    (status,) = [code for code in operation["responses"] if code.startswith("2")]
    content = operation["responses"][status].get("content")
    return None if content is None else content["application/json"]["schema"]


@pytest.mark.parametrize("function", OPERATIONS, ids=lambda f: f.__name__)
def test_the_requests_match_the_openapi_document(function: Any) -> None:
    route = api_routes()[function]
    operation = SPEC["paths"][route.path][route.method.lower()]
    documented = {(p["in"], p["name"]) for p in operation.get("parameters", [])}
    assert documented == {("path", p) for p in route.path_params} | {
        ("query", wire) for wire in route.query_params.values()
    } | {("query", f"{prefix}{{key}}") for prefix in route.prefixed_query.values()}
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


def test_a_request_carries_path_query_wire_names_and_body() -> None:
    listing = api_routes()[runs.list_runs].request(
        {
            "page": 2,
            "size": 5,
            "cron_id": None,
            "status": ExecutionStatus.FAILED,
            "handler_name": "a b&c",
            "from_date": datetime(2026, 11, 1, 12, 0, tzinfo=timezone(timedelta(hours=1))),
            "params": {"customer": "a&b", "order": "7"},
        }
    )
    assert (listing.method, listing.target, listing.body) == (
        "GET",
        "/api/jobs?page=2&size=5&status=FAILED&handler_name=a+b%26c&from_date=2026-11-01T12%3A00%3A00%2B01%3A00"
        "&param.customer=a%26b&param.order=7",
        None,
    )
    assert api_routes()[dead_letters.peek_dead_letters].request({"max_messages": 3}).target == (
        "/api/dead-letters/messages?max=3"
    )
    assert api_routes()[cron_jobs.list_cron_jobs].request({"is_enabled": False}).target == (
        "/api/crons?is_enabled=false"
    )
    run_now = api_routes()[cron_jobs.run_cron_job].request(
        {"job_id": 42, "request": RunNowRequest(params={"name": "x"})}
    )
    assert (run_now.method, run_now.target, json.loads(run_now.body or b"")) == (
        "POST",
        "/api/crons/42/run",
        {"params": {"name": "x"}},
    )


class Recorded:
    """A transport that answers what it is told to and keeps what it was sent."""

    def __init__(self, *answers: ApiAnswer) -> None:
        self.answers = list(answers)
        self.sent: list[ApiRequest] = []

    async def send(self, request: ApiRequest) -> ApiAnswer:
        self.sent.append(request)
        return self.answers.pop(0)


async def test_a_call_checks_its_arguments_and_parses_the_routes_answer() -> None:
    run = {"id": 7, "job_id": None, "cron_name": None, "handler_name": "sample", "scheduled_time": None,
           "status": "FAILED", "param_source": "event", "retry_count": 0, "max_retry": 0, "started_at": None,
           "finished_at": None, "created_at": "2026-11-01T12:00:00Z", "parent_execution_id": None,
           "error_message": "boom"}  # fmt: skip
    page = {"items": [run], "total": 1, "page": 1, "size": 20, "pages": 1}
    transport = Recorded(ApiAnswer(200, json.dumps(page).encode()), ApiAnswer(204, b""))
    client = AdminClient(transport)
    answer = await client.call(runs.list_runs, status=ExecutionStatus.FAILED)
    assert (answer.total, answer.items[0].id, answer.items[0].created_at) == (
        1,
        7,
        datetime(2026, 11, 1, 12, tzinfo=UTC),
    )
    assert await client.call(runs.delete_run, run_id=7) is None
    assert [request.target for request in transport.sent] == ["/api/jobs?status=FAILED", "/api/jobs/7"]
    with pytest.raises(TypeError, match=r"list_runs takes .*, not \['state'\]"):
        await client.call(runs.list_runs, state="FAILED")
    with pytest.raises(TypeError, match=r"get_run needs \['run_id'\]"):
        await client.call(runs.get_run)
    with pytest.raises(TypeError, match="is not a route of the admin API"):
        await client.call(main)  # type: ignore[arg-type]


def test_the_apis_errors_become_one_line_admin_errors() -> None:
    missing = failure(404, b'{"error": "not_found", "detail": "no run with id 4"}')
    assert (str(missing), missing.refused, missing.exit_status) == ("not_found: no run with id 4", True, 2)
    invalid = failure(
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
    forbidden = failure(403, b'{"message": "Forbidden"}')
    assert str(forbidden).startswith("forbidden: Forbidden: API Gateway refused the request")
    assert forbidden.refused
    down = failure(503, b'{"error": "database_unavailable", "detail": "connection refused"}')
    assert (down.refused, down.exit_status) == (False, 1)
    # a proxy's error page is said to be one, not quoted
    page = failure(502, b"<html>\n<body>\nBad\n gateway</body></html>" + b"x" * 1000)
    assert str(page) == "http_502: the admin API answered 502 with an HTML page"


# --- where: --api-url and --stack-name -----------------------------------------------------------


def test_an_execute_api_url_names_the_region_requests_are_signed_for(aws_env: None) -> None:
    client = http_transport(
        "https://abc123.execute-api.ap-southeast-2.amazonaws.com/", None, region_name=None, profile=None
    )
    assert isinstance(client, HttpTransport)
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
    local = http_transport("http://127.0.0.1:3000", None, region_name="us-east-1", profile=None)
    assert isinstance(local, HttpTransport)
    assert local.signer is None
    with pytest.raises(TargetError, match="no AWS credentials to sign requests with"):
        http_transport(
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
    client = http_transport(None, "jobu-prod", region_name="eu-west-1", profile=None)
    assert isinstance(client, HttpTransport)
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
        (["dlq", "--api-url", "http://x", "peek"], {"api_url": "http://x", "max": None, "pool": "default"}),
        (["dlq", "--pool", "pipeline", "peek"], {"pool": "pipeline"}),
        (["dlq", "redrive", "--pool", "pipeline"], {"pool": "pipeline"}),
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
