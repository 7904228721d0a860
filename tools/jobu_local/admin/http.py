"""The admin operations over an admin API: each method is one SigV4-signed HTTP request.

The request is built from the API's own route table (the routes jobu.api.resolver mounts): the
method and path, which arguments go in the path, the query (under their wire names) or the body,
and the model the answer is parsed with (the route function's return type, the same pydantic model
the operation returned on the server). So a route's path, parameters or answer cannot change without
this client following; tests/unit/test_admin_client.py checks the table against the OpenAPI document.
"""

from __future__ import annotations

import asyncio
import functools
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, get_origin, get_type_hints
from urllib.parse import quote, urlencode

from pydantic import BaseModel, TypeAdapter, ValidationError

from jobu.models import (
    CronJob,
    CronJobSpec,
    ExecutionStatus,
    ExecutionSummary,
    RejectedEvent,
    RejectedEventSummary,
)
from jobu.operations.cron_jobs import (
    DEFAULT_PREVIEW,
    BackfillRequest,
    BackfillResult,
    CronJobUpdate,
    PauseRequest,
    RunNowRequest,
    RunNowResult,
    SchedulePreview,
)
from jobu.operations.dead_letters import MAX_PEEK, DeadLetter, DeadLetterDepth, RedriveRequest, RedriveTask
from jobu.operations.handlers import HandlerInfo
from jobu.operations.health import Health, Readiness
from jobu.operations.paging import DEFAULT_PAGE_SIZE, Page
from jobu.operations.rejected_records import ReplayResult
from jobu.operations.runs import BulkRetryRequest, BulkRetryResult, CancelResult, RetryResult, RunDetail
from jobu.operations.statistics import CronRecentRuns, StatusCounts, Timeline
from jobu_local.admin.client import AdminClient
from jobu_local.admin.errors import AdminError
from jobu_local.aws.sigv4 import SigV4Signer

# API Gateway gives an HTTP API integration at most 30 s; a little more covers the network.
TIMEOUT_SECONDS = 35.0
FORBIDDEN_HINT = (
    "API Gateway refused the request: sign it with credentials of a principal allowed "
    "execute-api:Invoke on the API, in the API's region"
)


@dataclass(frozen=True)
class ApiRoute:
    """One route of the admin API, as the resolver mounts it."""

    name: str  # the route function's name: the client method's
    method: str
    path: str  # with {name} for each path parameter
    path_params: tuple[str, ...]
    query_params: dict[str, str]  # argument name -> the query parameter's name
    body_param: str | None
    answer: Any  # the type the answer is parsed into; None for an empty answer (204)

    def url(self, base_url: str, arguments: dict[str, Any]) -> str:
        path = self.path.format(**{name: quote(str(arguments[name]), safe="") for name in self.path_params})
        query = {
            wire: _query_text(arguments[name])
            for name, wire in self.query_params.items()
            if arguments.get(name) is not None
        }
        return f"{base_url}{path}" + (f"?{urlencode(query)}" if query else "")

    def body(self, arguments: dict[str, Any]) -> bytes | None:
        value = arguments.get(self.body_param) if self.body_param else None
        if value is None:
            return None
        if not isinstance(value, BaseModel):
            raise TypeError(f"{self.name}: the body must be a pydantic model, not {type(value).__name__}")
        return value.model_dump_json().encode()

    def parse(self, content: bytes) -> Any:
        if self.answer is None:
            return None
        return _adapter(self.answer).validate_json(content)


def _query_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


@functools.cache
def _adapter(answer: Any) -> TypeAdapter[Any]:
    return TypeAdapter(answer)


@functools.cache
def api_routes() -> dict[str, ApiRoute]:
    """The admin API's routes by function name, read from the resolver the function serves."""
    from aws_lambda_powertools.event_handler import Response

    from jobu.api.resolver import create_resolver

    resolver: Any = create_resolver()
    routes: dict[str, ApiRoute] = {}
    for route in [*resolver._static_routes, *resolver._dynamic_routes]:  # Powertools' route table
        dependant = route.dependant
        answer = get_type_hints(route.func).get("return")
        if answer is Response or get_origin(answer) is Response:
            answer = None
        body = [param.name for param in dependant.body_params]
        routes[route.func.__name__] = ApiRoute(
            name=route.func.__name__,
            method=route.method.upper(),
            path=route.path.replace("<", "{").replace(">", "}"),
            path_params=tuple(param.name for param in dependant.path_params),
            query_params={param.name: param.alias for param in dependant.query_params},
            body_param=body[0] if body else None,
            answer=answer,
        )
    return routes


def _failure(status: int, content: bytes) -> AdminError:
    try:
        answer = json.loads(content)
    except ValueError:
        answer = None
    if isinstance(answer, dict) and "error" in answer:
        return AdminError(status, str(answer["error"]), answer.get("detail"))
    # API Gateway's own answers ({"message": ...}): refused before the function ran
    message = answer.get("message") if isinstance(answer, dict) else content.decode(errors="replace")[:300]
    if status == 403:
        return AdminError(status, "forbidden", f"{message}: {FORBIDDEN_HINT}")
    return AdminError(status, f"http_{status}", message or "no detail")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A signed request is for one host: a redirect is answered as the error it is, not followed."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class HttpAdminClient(AdminClient):
    def __init__(
        self, base_url: str, *, signer: SigV4Signer | None, timeout: float = TIMEOUT_SECONDS
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.signer = signer
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirects())

    async def _call(self, name: str, **arguments: Any) -> Any:
        route = api_routes()[name]
        url = route.url(self.base_url, arguments)
        status, content = await asyncio.to_thread(self._send, route.method, url, route.body(arguments))
        if not 200 <= status < 300:
            raise _failure(status, content)
        try:
            return route.parse(content)
        except ValidationError as error:
            raise AdminError(
                status,
                "unexpected_answer",
                f"{route.method} {url} answered what {route.answer} does not read ({error.error_count()} "
                "problem(s)): is this jobu as new as the API it calls?",
            ) from error

    def _send(self, method: str, url: str, body: bytes | None) -> tuple[int, bytes]:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self.signer is not None:
            headers = self.signer.sign(method, url, headers=headers, body=body or b"")
        request = urllib.request.Request(url, data=body, method=method, headers=headers)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return int(response.status), bytes(response.read())
        except urllib.error.HTTPError as error:
            return error.code, error.read()
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise AdminError(None, "unreachable", f"cannot reach the admin API at {url}: {reason}") from None

    async def list_cron_jobs(
        self, page: int = 1, size: int = DEFAULT_PAGE_SIZE, is_enabled: bool | None = None
    ) -> Page[CronJob]:
        answer: Page[CronJob] = await self._call(
            "list_cron_jobs", page=page, size=size, is_enabled=is_enabled
        )
        return answer

    async def get_cron_job(self, job_id: int) -> CronJob:
        answer: CronJob = await self._call("get_cron_job", job_id=job_id)
        return answer

    async def create_cron_job(self, spec: CronJobSpec) -> CronJob:
        answer: CronJob = await self._call("create_cron_job", spec=spec)
        return answer

    async def update_cron_job(self, job_id: int, changes: CronJobUpdate) -> CronJob:
        answer: CronJob = await self._call("update_cron_job", job_id=job_id, changes=changes)
        return answer

    async def delete_cron_job(self, job_id: int) -> None:
        await self._call("delete_cron_job", job_id=job_id)

    async def toggle_cron_job(self, job_id: int) -> CronJob:
        answer: CronJob = await self._call("toggle_cron_job", job_id=job_id)
        return answer

    async def run_cron_job(self, job_id: int, request: RunNowRequest | None = None) -> RunNowResult:
        answer: RunNowResult = await self._call("run_cron_job", job_id=job_id, request=request)
        return answer

    async def pause_cron_job(self, job_id: int, request: PauseRequest | None = None) -> CronJob:
        answer: CronJob = await self._call("pause_cron_job", job_id=job_id, request=request)
        return answer

    async def resume_cron_job(self, job_id: int) -> CronJob:
        answer: CronJob = await self._call("resume_cron_job", job_id=job_id)
        return answer

    async def backfill_cron_job(self, job_id: int, request: BackfillRequest) -> BackfillResult:
        answer: BackfillResult = await self._call("backfill_cron_job", job_id=job_id, request=request)
        return answer

    async def preview_cron_expression(
        self, cron_expression: str, timezone: str = "UTC", count: int = DEFAULT_PREVIEW
    ) -> SchedulePreview:
        answer: SchedulePreview = await self._call(
            "preview_cron_expression", cron_expression=cron_expression, timezone=timezone, count=count
        )
        return answer

    async def handlers(self) -> list[HandlerInfo]:
        answer: list[HandlerInfo] = await self._call("handlers")
        return answer

    async def cancel_run(self, run_id: int) -> CancelResult:
        answer: CancelResult = await self._call("cancel_run", run_id=run_id)
        return answer

    async def run_status_counts(
        self,
        *,
        cron_id: int | None = None,
        status: ExecutionStatus | None = None,
        handler_name: str | None = None,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
    ) -> StatusCounts:
        answer: StatusCounts = await self._call(
            "run_status_counts",
            cron_id=cron_id,
            status=status,
            handler_name=handler_name,
            from_date=from_date,
            to_date=to_date,
        )
        return answer

    async def run_timeline(
        self,
        *,
        cron_id: int | None = None,
        status: ExecutionStatus | None = None,
        handler_name: str | None = None,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
        bucket_seconds: int = 60,
    ) -> Timeline:
        answer: Timeline = await self._call(
            "run_timeline",
            cron_id=cron_id,
            status=status,
            handler_name=handler_name,
            from_date=from_date,
            to_date=to_date,
            bucket_seconds=bucket_seconds,
        )
        return answer

    async def recent_runs(self, cron_ids: str, per_job: int = 20) -> list[CronRecentRuns]:
        answer: list[CronRecentRuns] = await self._call("recent_runs", cron_ids=cron_ids, per_job=per_job)
        return answer

    async def list_runs(
        self,
        *,
        page: int = 1,
        size: int = DEFAULT_PAGE_SIZE,
        cron_id: int | None = None,
        status: ExecutionStatus | None = None,
        handler_name: str | None = None,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
    ) -> Page[ExecutionSummary]:
        answer: Page[ExecutionSummary] = await self._call(
            "list_runs",
            page=page,
            size=size,
            cron_id=cron_id,
            status=status,
            handler_name=handler_name,
            from_date=from_date,
            to_date=to_date,
        )
        return answer

    async def get_run(self, run_id: int) -> RunDetail:
        answer: RunDetail = await self._call("get_run", run_id=run_id)
        return answer

    async def retry_run(self, run_id: int) -> RetryResult:
        answer: RetryResult = await self._call("retry_run", run_id=run_id)
        return answer

    async def bulk_retry_runs(self, request: BulkRetryRequest) -> BulkRetryResult:
        answer: BulkRetryResult = await self._call("bulk_retry_runs", request=request)
        return answer

    async def delete_run(self, run_id: int) -> None:
        await self._call("delete_run", run_id=run_id)

    async def list_rejected(self, page: int = 1, size: int = DEFAULT_PAGE_SIZE) -> Page[RejectedEventSummary]:
        answer: Page[RejectedEventSummary] = await self._call("list_rejected", page=page, size=size)
        return answer

    async def get_rejected(self, record_id: int) -> RejectedEvent:
        answer: RejectedEvent = await self._call("get_rejected", record_id=record_id)
        return answer

    async def replay_rejected(self, record_id: int) -> ReplayResult:
        answer: ReplayResult = await self._call("replay_rejected", record_id=record_id)
        return answer

    async def discard_rejected(self, record_id: int) -> None:
        await self._call("discard_rejected", record_id=record_id)

    async def dead_letter_depth(self) -> DeadLetterDepth:
        answer: DeadLetterDepth = await self._call("dead_letter_depth")
        return answer

    async def peek_dead_letters(self, max_messages: int = MAX_PEEK) -> list[DeadLetter]:
        answer: list[DeadLetter] = await self._call("peek_dead_letters", max_messages=max_messages)
        return answer

    async def redrive_dead_letters(self, request: RedriveRequest | None = None) -> RedriveTask:
        answer: RedriveTask = await self._call("redrive_dead_letters", request=request)
        return answer

    async def list_redrives(self) -> list[RedriveTask]:
        answer: list[RedriveTask] = await self._call("list_redrives")
        return answer

    async def liveness(self) -> Health:
        answer: Health = await self._call("liveness")
        return answer

    async def readiness(self) -> Readiness:
        answer: Readiness = await self._call("readiness")
        return answer
