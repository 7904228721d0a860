"""The admin API's resolver: the routers mounted at their paths, errors mapped, OpenAPI served.

Validation is on (Powertools' pydantic models for every query, path and body field and for every
response); a request that does not fit is a 400 that names each field and why (jobu.api.errors).
The spec Powertools generates is adjusted in one place (`openapi`): validation errors are 400 (not
its default 422), a 204 has no body, and callers sign requests with SigV4 (the HTTP API's IAM
authorization).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.typing import LambdaContext

from jobu.api import errors
from jobu.api.parameters import PARAM_QUERY_DOCUMENT, PREFIXED_QUERIES, principal_of
from jobu.api.routes import (
    access,
    audit,
    batches,
    cron_jobs,
    dead_letters,
    handlers,
    health,
    limits,
    notification_rules,
    pools,
    rejected_records,
    runs,
    statistics,
)
from jobu.api.services import Services
from jobu.observability import logger

TITLE = "jobu admin API"
VERSION = "1.0.0"
DESCRIPTION = (
    "Cron jobs, runs, batches, rejected Kafka records, the worker pools' queues and the audit trail of a "
    "jobu stack. Behind an API "
    "Gateway HTTP API with IAM authorization: sign every request with SigV4 (service execute-api). "
    'Errors are {"error": <code>, "detail": <why>}; see docs/admin-api.md.'
)
ROUTERS = [
    (cron_jobs.router, "/api/crons"),
    (runs.router, "/api/jobs"),
    (runs.enqueue_router, "/api/runs"),
    (batches.router, "/api/batches"),
    (rejected_records.router, "/api/rejected"),
    (dead_letters.router, "/api/dead-letters"),
    (pools.router, "/api/pools"),
    (cron_jobs.preview_router, "/api/cron-preview"),
    (handlers.router, "/api/handlers"),
    (statistics.router, "/api/stats"),
    (notification_rules.router, "/api/notification-rules"),
    (audit.router, "/api/audit"),
    (limits.router, "/api/limits"),
    (access.router, "/api/access"),
    (health.router, None),
]


def create_resolver(*, reveal_causes: bool = False) -> APIGatewayHttpResolver:
    """The admin API; `reveal_causes` puts a 5xx's cause in its answer, for a caller in this process
    only (the CLI on a database): over HTTP the cause stays in the log (jobu.api.errors)."""
    app = APIGatewayHttpResolver(enable_validation=True)
    for router, prefix in ROUTERS:
        app.include_router(router, prefix=prefix)
    errors.register(app, reveal_causes=reveal_causes)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi_json() -> dict[str, Any]:
        return openapi(app)

    return app


def openapi(app: APIGatewayHttpResolver) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route, as the API answers."""
    # Powertools' OpenAPI document models cost a cold start more than the rest of the API: only
    # this route needs them
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn

    sigv4 = APIKey.model_validate(
        {
            "type": "apiKey",
            "name": "Authorization",
            "in": APIKeyIn.header,
            "description": "AWS Signature Version 4 (API Gateway IAM authorization)",
            "x-amazon-apigateway-authtype": "awsSigv4",
        }
    )
    spec: dict[str, Any] = json.loads(
        app.get_openapi_json_schema(
            title=TITLE,
            version=VERSION,
            description=DESCRIPTION,
            security_schemes={"sigv4": sigv4},
            security=[{"sigv4": []}],
        )
    )
    for route in [*app._static_routes, *app._dynamic_routes]:  # Powertools' route table
        if any(d.depends.dependency in PREFIXED_QUERIES for d in route.dependant.dependencies):
            documented = spec["paths"][route.path.replace("<", "{").replace(">", "}")][route.method.lower()]
            documented.setdefault("parameters", []).append(PARAM_QUERY_DOCUMENT)
    for path in spec["paths"].values():
        for operation in path.values():
            answers = operation["responses"]
            answers.pop("422", None)  # validation errors are 400 here (jobu.api.errors)
            if "204" in answers:
                answers["204"].pop("content", None)
    schemas = spec.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(unused, None)
    return spec


def _refused_body(method: Any, event: dict[str, Any]) -> dict[str, Any] | None:
    """The answer to a body the API cannot read, before Powertools parses it (it fails on some, e.g.
    multipart without a boundary, or bytes that are not UTF-8): every body here is JSON text."""
    body = event.get("body")
    if method not in ("POST", "PUT", "PATCH") or not body:
        return None
    headers = event.get("headers") or {}
    content_type = next((str(v) for k, v in headers.items() if str(k).lower() == "content-type"), None)
    media_type = (content_type or "application/json").split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        return errors.integration_response(415, "unsupported_media_type", "send the body as application/json")
    if event.get("isBase64Encoded"):
        try:
            base64.b64decode(str(body), validate=True).decode("utf-8")
        except ValueError:  # binascii.Error and UnicodeDecodeError are both ValueErrors
            return errors.integration_response(400, "validation_error", "the body is not UTF-8 text")
    return None


async def resolve(
    app: APIGatewayHttpResolver, services: Services, event: dict[str, Any], context: LambdaContext
) -> dict[str, Any]:
    """Answer one API Gateway HTTP API (payload 2.0) event, and log who asked for what."""
    http = event.get("requestContext", {}).get("http", {})
    refused = _refused_body(http.get("method"), event)
    if refused is not None:
        response = refused
    else:
        app.context["services"] = services  # cleared by the resolver once the request is answered
        response = await app.resolve_async(event, context)
    logger.info(
        "admin request",
        extra={
            "method": http.get("method"),
            "path": http.get("path"),
            "status": response.get("statusCode"),
            "caller": principal_of(event),
            # API Gateway's id: a 5xx answer gives it, and its cause is logged under it (jobu.api.errors)
            "request_id": event.get("requestContext", {}).get("requestId"),
        },
    )
    return response
