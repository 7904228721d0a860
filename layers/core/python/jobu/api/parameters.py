"""What the admin routes declare alike: the services they run on, who is calling, paging, row ids in
the path."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl

from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.request import Request
from pydantic import ValidationError

from jobu import param_match
from jobu.api.services import Services, services
from jobu.operations.audit import Actor
from jobu.operations.paging import MAX_PAGE_SIZE
from jobu.operations.runs import RunFilter
from jobu.pools import POOL_NAME
from jobu.traces import HEADER, TraceParent

MAX_ID = 2**63 - 1  # the BIGINT ids of every backend


def principal_of(event: dict[str, Any]) -> str | None:
    """Who signed the request, as API Gateway's IAM authorization put it in the request context
    (`authorizer.iam.userArn`); locally, the principal the runtime's token check or the CLI put there
    in a Lambda authorizer's context (`authorizer.lambda.principal`). None when there is none."""
    context = event.get("requestContext")
    authorizer = context.get("authorizer") if isinstance(context, dict) else None
    if not isinstance(authorizer, dict):
        return None
    for kind, key in (("iam", "userArn"), ("lambda", "principal")):
        part = authorizer.get(kind)
        value = part.get(key) if isinstance(part, dict) else None
        if isinstance(value, str) and value:
            return value
    return None


def caller(request: Request) -> Actor:
    """The Depends() provider of the routes that change something: the principal and the request id
    their audit row records ('unknown' when the request carries no principal)."""
    event = request.resolved_event.raw_event
    context = event.get("requestContext")
    request_id = context.get("requestId") if isinstance(context, dict) else None
    return Actor.of(principal_of(event), request_id)


def trace_header(request: Request) -> str | None:
    """The Depends() provider of the routes that make runs: the request's W3C `traceparent` header,
    kept on the runs it makes as a Kafka record's is; one not exactly version 00's form is ignored
    (jobu.traces), never refused."""
    headers = request.resolved_event.raw_event.get("headers")
    if not isinstance(headers, dict):
        return None
    for name, value in headers.items():
        if isinstance(name, str) and name.lower() == HEADER:
            trace = TraceParent.parse(value)
            return None if trace is None else str(trace)
    return None


def param_filter(request: Request) -> dict[str, str] | None:
    """The Depends() provider of the routes that list or count runs: the `param.<key>=<value>` query
    parameters, as {key: value} (checked by RunFilter, whose errors name `param.<key>`). Read from the
    raw query string: API Gateway joins a repeated parameter's values with commas in
    queryStringParameters, and a value may hold commas. A key given twice is refused (one value each)."""
    raw = request.resolved_event.raw_event.get("rawQueryString")
    found: dict[str, list[str]] = {}
    for name, value in parse_qsl(raw if isinstance(raw, str) else "", keep_blank_values=True):
        if name.startswith(param_match.QUERY_PREFIX):
            found.setdefault(name, []).append(value)
    if twice := sorted(name for name, values in found.items() if len(values) > 1):
        raise RequestValidationError(
            [
                {"loc": ("query", name), "msg": "give each param.<key> once", "type": "duplicate"}
                for name in twice
            ]
        )
    return param_match.from_query(found) or None


Admin = Annotated[Services, Depends(services)]
Caller = Annotated[Actor, Depends(caller)]
TraceHeader = Annotated[str | None, Depends(trace_header)]
PageNumber = Annotated[int, Query(ge=1, le=2**31, description="1 is the first page")]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
JobId = Annotated[int, Path(ge=1, le=MAX_ID, description="the cron job's id")]
RunId = Annotated[int, Path(ge=1, le=MAX_ID, description="the run's id (job_executions.id)")]
RecordId = Annotated[int, Path(ge=1, le=MAX_ID, description="the rejected record's id")]
BatchId = Annotated[int, Path(ge=1, le=MAX_ID, description="the batch's id")]
BatchIdFilter = Annotated[int | None, Query(ge=1, le=MAX_ID, description="the runs of this batch")]
CronIdFilter = Annotated[int | None, Query(ge=1, le=MAX_ID)]
HandlerFilter = Annotated[str | None, Query(min_length=1, max_length=200)]
FromDate = Annotated[datetime | None, Query(description="created at or after; UTC when no offset")]
ToDate = Annotated[datetime | None, Query(description="created at or before; UTC when no offset")]
TagFilter = Annotated[
    list[str] | None, Query(description="runs carrying every given tag: ?tag=a&tag=b (at most 10)")
]
ParamFilter = Annotated[dict[str, str] | None, Depends(param_filter)]
# Depends() providers that read a family of query parameters by prefix, which Powertools neither
# validates nor documents: the OpenAPI document (resolver.openapi) and the CLI's client name them so.
PREFIXED_QUERIES = {param_filter: param_match.QUERY_PREFIX}
PARAM_QUERY_DOCUMENT = {
    "name": f"{param_match.QUERY_PREFIX}{{key}}",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "maxLength": param_match.MAX_PARAM_VALUE_LENGTH},
    "description": "runs whose params have this top-level value, e.g. ?param.customer=acme&param.order=7 "
    f"(at most {param_match.MAX_PARAM_MATCHES}, ANDed; key a plain identifier of at most "
    f"{param_match.MAX_PARAM_KEY_LENGTH} characters): a string equal to the value, or, for a value that "
    "reads as a JSON number, true, false or null, that number (numerically), boolean or null too",
}
PoolName = Annotated[
    str, Query(pattern=f"^{POOL_NAME.pattern}$", description="the worker pool (GET /api/pools)")
]


def run_filter(**fields: Any) -> RunFilter:
    """The run history's filter from query parameters: a problem with it (dates out of range or out of
    order) is answered as a parameter that does not parse, each problem found in the query."""
    try:
        return RunFilter(**fields)
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("query", *_query_name(e["loc"]))} for e in error.errors()]
        ) from None


def history_filter(  # noqa: PLR0917  (the routes' six query parameters, in their order)
    cron_id: int | None,
    status: Any,
    handler_name: str | None,
    from_date: datetime | None,
    to_date: datetime | None,
    tag: list[str] | None,
    params: dict[str, str] | None = None,
    batch_id: int | None = None,
) -> RunFilter:
    """The run history's filter as the runs list and the statistics take it from their query."""
    return run_filter(
        batch_id=batch_id,
        cron_id=cron_id,
        status=status,
        handler_name=handler_name,
        from_date=from_date,
        to_date=to_date,
        tags=tag or None,
        params=params,
    )


def _query_name(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """The filter's `tags` is the query's repeated `tag`; its `params` the query's `param.<key>`."""
    if loc[:1] == ("tags",):
        return ("tag", *loc[1:])
    if loc[:1] == ("params",):
        return (f"{param_match.QUERY_PREFIX}{loc[1]}",) if len(loc) > 1 else ("param",)
    return loc


__all__ = [
    "PARAM_QUERY_DOCUMENT",
    "PREFIXED_QUERIES",
    "Admin",
    "BatchId",
    "BatchIdFilter",
    "Caller",
    "CronIdFilter",
    "FromDate",
    "HandlerFilter",
    "JobId",
    "PageNumber",
    "PageSize",
    "ParamFilter",
    "PoolName",
    "RecordId",
    "RunId",
    "TagFilter",
    "ToDate",
    "TraceHeader",
    "history_filter",
    "run_filter",
]
