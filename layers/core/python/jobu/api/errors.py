"""jobu's errors as HTTP answers: {"error": <code>, "detail": <why>} with the status that fits.

| status | error | raised as |
|---|---|---|
| 400 | validation_error | the request does not fit its model (detail: each field and why) |
| 400 | invalid_cron_job | InvalidCronJobError: a bad expression, an unknown handler, an impossible timeout |
| 400 | invalid_state | InvalidStateError: e.g. retrying a run that is not FAILED or TIMEOUT |
| 404 | not_found | NotFoundError, or no such path |
| 409 | duplicate | DuplicateError: a cron job with that name exists |
| 415 | unsupported_media_type | a body that is not application/json |
| 502 | queue_error | QueueError: an SQS call failed |
| 503 | database_unavailable | StoreUnavailableError: the database did not answer |
| 500 | internal_error | anything else (logged with its traceback) |

400 for invalid_state is what the original jobu answered for a retry of a run that had not failed;
kept so its clients read the same answer.
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
    InvalidStateError,
    JobuError,
    NotFoundError,
    QueueError,
    StoreUnavailableError,
)
from jobu.observability import logger

ERRORS: dict[type[JobuError], tuple[int, str]] = {
    InvalidCronJobError: (400, "invalid_cron_job"),
    InvalidStateError: (400, "invalid_state"),
    NotFoundError: (404, "not_found"),
    DuplicateError: (409, "duplicate"),
    QueueError: (502, "queue_error"),
    StoreUnavailableError: (503, "database_unavailable"),
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
        description="invalid_cron_job: the cron job's field at fault, when one is (e.g. cron_expression)",
    )


def error_response(status: int, error: str, detail: Any, field: str | None = None) -> Response[Any]:
    body = {"error": error, "detail": detail} | ({"field": field} if field else {})
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


def _jobu_error(error: JobuError) -> Response[Any]:
    for kind, (status, code) in ERRORS.items():
        if isinstance(error, kind):
            if status >= 500:
                logger.warning("admin request failed", extra={"error": code, "detail": str(error)})
            return error_response(status, code, str(error), getattr(error, "field", None))
    return _unexpected(error)


def _unexpected(error: Exception) -> Response[Any]:
    logger.exception("admin request failed unexpectedly")
    return error_response(500, "internal_error", f"{type(error).__name__} (see the function's log)")


def register(app: APIGatewayHttpResolver) -> None:
    app.exception_handler(RequestValidationError)(_validation)
    app.exception_handler(RequestUnsupportedContentType)(_media_type)
    app.exception_handler(JobuError)(_jobu_error)
    app.exception_handler(Exception)(_unexpected)
    app.not_found(lambda _error: error_response(404, "not_found", "no such path"))
