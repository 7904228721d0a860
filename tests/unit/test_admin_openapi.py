"""The admin API's OpenAPI document: the original jobu's paths, errors as they are answered, and a
valid OpenAPI 3.1 document served at /openapi.json by the function itself."""

from __future__ import annotations

import json

import pytest
from openapi_spec_validator import validate

from jobu import constants
from jobu.api.resolver import create_resolver, openapi
from jobu.config import AdminConfig
from jobu.errors import ConfigurationError
from tests.support.admin_client import AdminClient

SPEC = openapi(create_resolver())

# The original jobu's admin paths (its clients keep working), then what this project adds.
PARITY = {
    ("get", "/api/crons"),
    ("post", "/api/crons"),
    ("get", "/api/crons/{job_id}"),
    ("put", "/api/crons/{job_id}"),
    ("delete", "/api/crons/{job_id}"),
    ("post", "/api/crons/{job_id}/toggle"),
    ("get", "/api/jobs"),
    ("get", "/api/jobs/{run_id}"),
    ("post", "/api/jobs/{run_id}/retry"),
    ("delete", "/api/jobs/{run_id}"),
    ("get", "/health"),
    ("get", "/ready"),
}
BEYOND = {
    ("post", "/api/crons/{job_id}/run"),
    ("post", "/api/jobs/bulk-retry"),
    ("post", "/api/jobs/bulk-cancel"),
    ("get", "/api/rejected"),
    ("get", "/api/rejected/{record_id}"),
    ("post", "/api/rejected/{record_id}/replay"),
    ("delete", "/api/rejected/{record_id}"),
    ("get", "/api/dead-letters"),
    ("get", "/api/dead-letters/messages"),
    ("post", "/api/dead-letters/redrive"),
    ("get", "/api/dead-letters/redrives"),
    ("get", "/api/pools"),
    # scheduling (docs/scheduling.md)
    ("post", "/api/crons/{job_id}/pause"),
    ("post", "/api/crons/{job_id}/resume"),
    ("post", "/api/crons/{job_id}/backfill"),
    ("post", "/api/jobs/{run_id}/cancel"),
    ("get", "/api/notification-rules"),
    ("post", "/api/notification-rules"),
    ("get", "/api/notification-rules/{rule_id}"),
    ("put", "/api/notification-rules/{rule_id}"),
    ("delete", "/api/notification-rules/{rule_id}"),
    ("post", "/api/notification-rules/{rule_id}/test"),
    # the audit trail (docs/security.md)
    ("get", "/api/audit"),
    # handlers' concurrency and rate limits (docs/executions.md, Limits)
    ("get", "/api/limits"),
    ("get", "/api/limits/{handler_name}"),
    ("put", "/api/limits/{handler_name}"),
    ("delete", "/api/limits/{handler_name}"),
    # roles: a viewer's POST is refused by API Gateway, so this answers operators only
    ("post", "/api/access/check"),
    # the enqueue API (docs/admin-api.md)
    ("post", "/api/runs"),
    ("post", "/api/runs/batch"),
    # batches with completion callbacks (docs/admin-api.md)
    ("post", "/api/batches"),
    ("get", "/api/batches"),
    ("get", "/api/batches/{batch_id}"),
    ("post", "/api/batches/{batch_id}/cancel"),
}
# what the dashboard reads (issue 11): a cron expression's next fire times, the handlers, figures
DASHBOARD = {
    ("get", "/api/cron-preview"),
    ("get", "/api/handlers"),
    ("get", "/api/stats/status-counts"),
    ("get", "/api/stats/timeline"),
    ("get", "/api/stats/recent-runs"),
}
OPERATIONS = [(method, path, op) for path, item in SPEC["paths"].items() for method, op in item.items()]


def test_the_document_is_valid_openapi_3_1() -> None:
    assert SPEC["openapi"].startswith("3.1")
    validate(SPEC)


def test_paths_are_the_originals_and_the_additions() -> None:
    assert {(method, path) for method, path, _ in OPERATIONS} == PARITY | BEYOND | DASHBOARD


def test_the_original_query_parameters_are_kept() -> None:
    def names(path: str) -> set[str]:
        return {p["name"] for p in SPEC["paths"][path]["get"]["parameters"]}

    assert names("/api/crons") == {"page", "size", "is_enabled"}
    # the originals, the tag filter added with the flow control fields, the params filter, a batch's runs
    assert names("/api/jobs") == {
        "batch_id",
        "page",
        "size",
        "cron_id",
        "status",
        "handler_name",
        "from_date",
        "to_date",
        "tag",
        "param.{key}",
    }
    status = next(p for p in SPEC["paths"]["/api/jobs"]["get"]["parameters"] if p["name"] == "status")
    assert "EXPIRED" in json.dumps(status["schema"]) or "EXPIRED" in json.dumps(SPEC["components"])
    size = next(p for p in SPEC["paths"]["/api/jobs"]["get"]["parameters"] if p["name"] == "size")
    assert (size["schema"]["minimum"], size["schema"]["maximum"], size["schema"]["default"]) == (1, 100, 20)


@pytest.mark.parametrize(
    ("method", "path", "operation"), OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS]
)
def test_every_error_is_documented_as_it_is_answered(
    method: str, path: str, operation: dict[str, object]
) -> None:
    responses = operation["responses"]
    assert isinstance(responses, dict)
    assert "422" not in responses  # validation errors are 400 here
    if "{" in path:
        assert "404" in responses
    if operation.get("parameters") or operation.get("requestBody"):
        assert "400" in responses
    for status, response in responses.items():
        if int(status) >= 400:
            assert response["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorBody"
            }
        if status == "204":
            assert "content" not in response


def test_a_batch_s_idempotency_key_is_documented() -> None:
    create = SPEC["paths"]["/api/batches"]["post"]
    body = create["requestBody"]["content"]["application/json"]["schema"]
    assert "idempotency_key" in json.dumps(body)
    assert "idempotency_ttl_seconds" in json.dumps(body)
    assert "200: deduplicated by its idempotency key" in create["responses"]["201"]["description"]
    created = SPEC["components"]["schemas"]["BatchCreated"]["properties"]
    assert {"batch", "run_ids", "deduplicated"} <= set(created)
    assert "idempotency_key" in SPEC["components"]["schemas"]["BatchView"]["properties"]


def test_limits_are_the_originals() -> None:
    spec = SPEC["components"]["schemas"]["CronJobSpec"]["properties"]
    assert (spec["name"]["minLength"], spec["name"]["maxLength"]) == (1, 100)
    assert (spec["max_retry"]["minimum"], spec["max_retry"]["maximum"]) == (0, 10)


def test_callers_sign_with_sigv4() -> None:
    scheme = SPEC["components"]["securitySchemes"]["sigv4"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    assert scheme["x-amazon-apigateway-authtype"] == "awsSigv4"
    assert SPEC["security"] == [{"sigv4": []}]


def test_the_function_serves_the_document() -> None:
    served = AdminClient().get("/openapi.json")
    assert served.status == 200
    assert served.headers["Content-Type"] == "application/json"
    assert served.json == SPEC


def test_the_dead_letter_queue_and_worker_timeout_are_required() -> None:
    every_function = {
        constants.DATABASE_URL: "sqlite:///jobu.db",
        constants.WORK_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/1/work",
        f"{constants.WORK_QUEUE_URL}_PIPELINE": "https://sqs.us-east-1.amazonaws.com/1/work-pipeline",
        constants.DATABASE_POOL_SIZE: "2",
    }
    pipeline = {
        f"{constants.WORKER_TIMEOUT_SECONDS}_PIPELINE": "900",
        f"{constants.DEAD_LETTER_QUEUE_URL}_PIPELINE": "https://sqs/1/dlq-pipeline",
    }
    environ = {**every_function, **pipeline, constants.WORKER_TIMEOUT_SECONDS: "60"}
    with pytest.raises(ConfigurationError, match=constants.DEAD_LETTER_QUEUE_URL):
        AdminConfig.from_environ(environ)
    environ[constants.DEAD_LETTER_QUEUE_URL] = "https://sqs.us-east-1.amazonaws.com/1/dlq"
    assert AdminConfig.from_environ(environ).pools.worker_timeouts() == {"default": 60, "pipeline": 900}
    with pytest.raises(ConfigurationError, match=constants.WORKER_TIMEOUT_SECONDS):
        AdminConfig.from_environ(
            {**every_function, **pipeline, constants.DEAD_LETTER_QUEUE_URL: "https://sqs/1/dlq"}
        )
