"""Issue 19, finding 8: 5xx answers told API callers internal details: the database's address
(host, port, user, database name) and botocore's messages, which name queue URLs, role ARNs and
the account id. Now a caller gets the kind of failure and the request's id; the cause is in the
function's log line with that request_id. Through the admin function's entry point (API Gateway
HTTP API events), on every backend.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber

from functions.admin_api import app as admin_app
from tests.support import admin_client
from tests.support.admin_client import AdminClient, AdminResponse, api_event, invoke
from tests.support.harness import Harness

SECRET_USER, SECRET_DATABASE = "jobu_svc_7f3a", "orders_prod_91c2"
UNREACHABLE = {
    "sqlite": f"sqlite:////nonexistent-{SECRET_DATABASE}/jobu.db",
    "postgres": f"postgresql://{SECRET_USER}:pw@127.0.0.1:1/{SECRET_DATABASE}",
    "mysql": f"mysql://{SECRET_USER}:pw@127.0.0.1:1/{SECRET_DATABASE}",
}
ACCOUNT = "123456789012"
DENIED = (
    f"User: arn:aws:sts::{ACCOUNT}:assumed-role/jobu-AdminApiRole-1X2Y/jobu-AdminApiFunction is not "
    f"authorized to perform: sqs:GetQueueAttributes on resource: arn:aws:sqs:us-east-1:{ACCOUNT}:jobu-dlq "
    "because no identity-based policy allows the sqs:GetQueueAttributes action"
)


def request(method: str, path: str) -> tuple[str, AdminResponse]:
    event = api_event(method, path)
    return event["requestContext"]["requestId"], invoke(event)


def logged(caplog: pytest.LogCaptureFixture, message: str) -> list[dict[str, Any]]:
    """The function's log lines with `message`, as their JSON fields (Powertools' `extra`)."""
    return [vars(record) for record in caplog.records if record.getMessage() == message]


def generic(response: AdminResponse, status: int, code: str, request_id: str) -> None:
    assert (response.status, response.json["error"], response.json["request_id"]) == (
        status,
        code,
        request_id,
    )
    assert f"request id {request_id}" in response.json["detail"]


def test_an_unreachable_database_is_a_503_that_names_nothing_inside(
    harness: Harness, admin: AdminClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    backend = harness.database_url.split(":")[0].replace("postgresql", "postgres")
    monkeypatch.setenv("JOBU_DATABASE_URL", UNREACHABLE[backend])
    admin_client.reset()
    caplog.clear()

    for method, path in (("GET", "/api/crons"), ("GET", "/ready"), ("POST", "/api/crons/1/toggle")):
        request_id, response = request(method, path)

        generic(response, 503, "database_unavailable", request_id)
        for inside in (
            SECRET_DATABASE,
            SECRET_USER,
            "127.0.0.1",
            "nonexistent",
            "Error",
            "asyncpg",
            "asyncmy",
        ):
            assert inside not in response.body, (inside, response.body)
        (cause,) = logged(caplog, "admin request failed")
        assert (cause["request_id"], cause["error_type"]) == (request_id, "StoreUnavailableError")
        assert backend == "sqlite" or "127.0.0.1" in cause["detail"]
        caplog.clear()


def test_an_sqs_error_is_a_502_that_names_no_queue_or_account(
    admin: AdminClient, caplog: pytest.LogCaptureFixture
) -> None:
    with Stubber(admin_app.container.sqs) as sqs:
        sqs.add_client_error("get_queue_attributes", "AccessDenied", DENIED, http_status_code=403)
        caplog.clear()
        request_id, response = request("GET", "/api/dead-letters")

    generic(response, 502, "queue_error", request_id)
    for inside in (ACCOUNT, "arn:aws", "jobu-dlq", "AccessDenied", "GetQueueAttributes", "sqs.us-east-1"):
        assert inside not in response.body, (inside, response.body)
    (access,) = logged(caplog, "admin request")  # the resolver's line for every request
    assert (access["request_id"], access["status"]) == (request_id, 502)
    (cause,) = logged(caplog, "admin request failed")
    assert (cause["request_id"], cause["error"], cause["error_type"]) == (
        request_id,
        "queue_error",
        "QueueError",
    )
    assert DENIED in cause["detail"]


def test_an_unexpected_error_is_a_500_with_its_traceback_in_the_log_only(
    admin: AdminClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from jobu.operations import cron_jobs

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"connection to 10.0.3.7:5432 as {SECRET_USER} broke")

    monkeypatch.setattr(cron_jobs, "list_page", broken)
    caplog.clear()
    request_id, response = request("GET", "/api/crons")

    generic(response, 500, "internal_error", request_id)
    assert "10.0.3.7" not in response.body
    assert "RuntimeError" not in response.body
    (cause,) = logged(caplog, "admin request failed unexpectedly")
    assert (cause["request_id"], cause["error_type"]) == (request_id, "RuntimeError")
    assert "10.0.3.7:5432" in cause["detail"]
    assert cause["exc_info"] is not None, "the traceback is logged"


def test_client_errors_still_say_what_is_wrong(admin: AdminClient) -> None:
    """The control: a 4xx is the caller's to fix, so it keeps its reason (and needs no request id)."""
    response = admin.post(
        "/api/crons", body={"name": "x", "cron_expression": "61 * * * *", "handler_name": "sample"}
    )
    assert (response.status, response.json["error"]) == (400, "invalid_cron_job")
    assert "61 is outside 0-59" in response.json["detail"]
    assert "request_id" not in response.json
