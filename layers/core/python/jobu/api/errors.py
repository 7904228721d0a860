"""jobu's errors as HTTP answers: {"error": <code>, "detail": <why>} with the status that fits.

| status | error | raised as |
|---|---|---|
| 400 | validation_error | the request does not fit its model (detail: each field and why) |
| 400 | invalid_cron_job | InvalidCronJobError: a bad expression, an unknown handler, an impossible timeout |
| 400 | invalid_notification_rule | InvalidNotificationRuleError: an unknown handler, a plain http webhook |
| 400 | invalid_request | InvalidRequestError: a run request (enqueue) with a wrong field (field: which) |
| 400 | invalid_limits | InvalidLimitsError: a handler's limits with a wrong field (field: which) |
| 400 | invalid_state | InvalidStateError: e.g. retrying a run that is not FAILED or TIMEOUT |
| 404 | not_found | NotFoundError, or no such path |
| 409 | duplicate | DuplicateError: a cron job with that name exists |
| 415 | unsupported_media_type | a body that is not application/json |
| 502 | queue_error | QueueError: an SQS call failed |
| 503 | database_unavailable | StoreUnavailableError: the database did not answer |
| 500 | internal_error | anything else (logged with its traceback) |

400 for invalid_state is what the original jobu answered for a retry of a run that had not failed;
kept so its clients read the same answer.

A 5xx tells the caller what kind of failure it was and the request's id, never its cause: that
names the database's address, or quotes botocore with queue URLs and the account id. The cause
goes to the log line that carries the same `request_id` (API Gateway's, as in the HTTP API's
access log and its `apigw-requestid` header), so an operator finds it with
`{ $.request_id = "<id>" }`. A caller in the same process (the CLI on a database, which is its own
operator and has the database's credentials already) is told the cause itself (`reveal_causes`).
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from pydantic import BaseModel, Field

from jobu.errors import (
    DuplicateError,
    InvalidCronJobError,
    InvalidLimitsError,
    InvalidNotificationRuleError,
    InvalidRequestError,
    InvalidStateError,
    JobuError,
    NotFoundError,
    QueueError,
    StoreUnavailableError,
)
from jobu.observability import logger

ERRORS: dict[type[JobuError], tuple[int, str]] = {
    InvalidCronJobError: (400, "invalid_cron_job"),
    InvalidNotificationRuleError: (400, "invalid_notification_rule"),
    InvalidRequestError: (400, "invalid_request"),
    InvalidLimitsError: (400, "invalid_limits"),
    InvalidStateError: (400, "invalid_state"),
    NotFoundError: (404, "not_found"),
    DuplicateError: (409, "duplicate"),
    QueueError: (502, "queue_error"),
    StoreUnavailableError: (503, "database_unavailable"),
}
# What a caller of a 5xx is told, whatever the cause.
SERVER_ERRORS = {
    "queue_error": "a call to the work queue failed; try again",
    "database_unavailable": "the database did not answer; try again",
    "internal_error": "the request failed unexpectedly",
}
DESCRIPTIONS = {
    400: "The request is invalid: its fields, the cron job it describes, or the state of what it acts on",
    404: "No such cron job, run, rejected record or path",
    409: "A cron job with that name exists already",
    415: "The body is not application/json",
    502: "An SQS call failed",
    503: "The database did not answer",
}


class FieldProblem(BaseModel):
    loc: list[str | int] = Field(description="where: body, query or path, then the field")
    msg: str
    type: str


class ErrorBody(BaseModel):
    error: str = Field(description="a stable code: validation_error, invalid_cron_job, invalid_state, ...")
    detail: str | list[FieldProblem] | None = Field(
        description="why, in words; for validation_error, each field"
    )
    field: str | None = Field(
        default=None,
        description="invalid_cron_job, invalid_request, invalid_limits: the field at fault, when one is "
        "(e.g. params)",
    )
    request_id: str | None = Field(
        default=None,
        description="5xx: the request's id; the function's log line with this request_id has the cause",
    )


def error_response(
    status: int, error: str, detail: Any, field: str | None = None, request_id: str | None = None
) -> Response[Any]:
    body = {"error": error, "detail": detail} | ({"field": field} if field else {})
    body |= {"request_id": request_id} if request_id else {}
    return Response(status, content_types.APPLICATION_JSON, body)


def responses(
    success: int, description: str, *failures: int, usual: tuple[int, ...] = (400, 503), body: bool = False
) -> dict[int, Any]:
    """The OpenAPI responses of a route: its success (schema from its return type) and its errors,
    `usual` ones included (a request that does not validate, the database down), and 415 for a
    route that reads a body."""
    answers: dict[int, Any] = {success: {"description": description}}
    for status in sorted({*usual, *failures, *([415] if body else [])}):
        model = {"application/json": {"model": ErrorBody}}
        answers[status] = {"description": DESCRIPTIONS[status], "content": model}
    return answers


def _validation(error: RequestValidationError) -> Response[Any]:
    # the field and the reason, never the input itself (it can be large, or a secret)
    problems = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in error.errors()]
    return error_response(400, "validation_error", problems)


def _media_type(_error: RequestUnsupportedContentType) -> Response[Any]:
    return error_response(415, "unsupported_media_type", "send the body as application/json")


def integration_response(status: int, error: str, detail: str) -> dict[str, Any]:
    """An answer in the integration's own shape, for a request refused before routing."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON},
        "body": json.dumps({"error": error, "detail": detail}),
        "isBase64Encoded": False,
    }


def request_id(app: APIGatewayHttpResolver) -> str | None:
    """API Gateway's id of the request being answered (the Lambda request's when there is none)."""
    event_id = app.current_event.request_context.request_id
    if event_id:
        return str(event_id)
    context = getattr(app, "lambda_context", None)
    return getattr(context, "aws_request_id", None)


def _server_error(
    app: APIGatewayHttpResolver, status: int, code: str, error: Exception, *, reveal_causes: bool
) -> Response[Any]:
    """The generic answer; the cause in the log line with the same request id (and in the answer
    with `reveal_causes`)."""
    request = request_id(app)
    cause = {"error": code, "request_id": request, "error_type": type(error).__name__, "detail": str(error)}
    if code == "internal_error":
        logger.exception("admin request failed unexpectedly", extra=cause)
    else:
        logger.error("admin request failed", extra=cause)
    if reveal_causes:
        detail = str(error) if code != "internal_error" else f"{type(error).__name__}: {error}"
    else:
        detail = f"{SERVER_ERRORS[code]} (request id {request}: the function's log has the cause)"
    return error_response(status, code, detail, request_id=request)


def _jobu_error(app: APIGatewayHttpResolver, error: JobuError, *, reveal_causes: bool) -> Response[Any]:
    for kind, (status, code) in ERRORS.items():
        if isinstance(error, kind):
            if status >= 500:
                return _server_error(app, status, code, error, reveal_causes=reveal_causes)
            return error_response(status, code, str(error), getattr(error, "field", None))
    return _server_error(app, 500, "internal_error", error, reveal_causes=reveal_causes)


def register(app: APIGatewayHttpResolver, *, reveal_causes: bool = False) -> None:
    """The answers to errors; `reveal_causes` only for a caller in this process (the CLI)."""
    app.exception_handler(RequestValidationError)(_validation)
    app.exception_handler(RequestUnsupportedContentType)(_media_type)
    app.exception_handler(JobuError)(lambda error: _jobu_error(app, error, reveal_causes=reveal_causes))
    app.exception_handler(Exception)(
        lambda error: _server_error(app, 500, "internal_error", error, reveal_causes=reveal_causes)
    )
    app.not_found(lambda _error: error_response(404, "not_found", "no such path"))
