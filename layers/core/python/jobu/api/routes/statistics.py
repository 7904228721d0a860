"""/api/stats: figures about runs for the dashboard's counters and pictures (jobu.operations.statistics)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from jobu.api.errors import responses
from jobu.api.parameters import (
    Admin,
    CronIdFilter,
    FromDate,
    HandlerFilter,
    ParamFilter,
    TagFilter,
    ToDate,
    history_filter,
)
from jobu.clock import utcnow
from jobu.models import ExecutionStatus
from jobu.operations import statistics
from jobu.operations.statistics import (
    MAX_STRIP_JOBS,
    MAX_STRIP_RUNS,
    CronRecentRuns,
    StatusCounts,
    Timeline,
)

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # untyped in Powertools
TAGS = ["statistics"]
StatusFilter = Annotated[ExecutionStatus | None, Query()]
# up to MAX_STRIP_JOBS ids, comma-separated (API Gateway joins repeated parameters the same way)
CRON_IDS = rf"^[1-9][0-9]{{0,17}}(,[1-9][0-9]{{0,17}}){{0,{MAX_STRIP_JOBS - 1}}}$"


@router.get(
    "/status-counts",
    tags=TAGS,
    summary="How many runs match the run history's filters, per status",
    responses=responses(200, "Runs per status"),
)
async def run_status_counts(
    admin: Admin,
    *,
    cron_id: CronIdFilter = None,
    status: StatusFilter = None,
    handler_name: HandlerFilter = None,
    from_date: FromDate = None,
    to_date: ToDate = None,
    tag: TagFilter = None,
    params: ParamFilter,
) -> StatusCounts:
    where = history_filter(cron_id, status, handler_name, from_date, to_date, tag, params)
    return await statistics.status_counts(await admin.store(), where)


@router.get(
    "/timeline",
    tags=TAGS,
    summary="Runs created per time bucket (by status) and their durations",
    responses=responses(200, "Every bucket of the window: by default the last 60 buckets up to now"),
)
async def run_timeline(
    admin: Admin,
    *,
    cron_id: CronIdFilter = None,
    status: StatusFilter = None,
    handler_name: HandlerFilter = None,
    from_date: FromDate = None,
    to_date: ToDate = None,
    bucket_seconds: Annotated[
        int, Query(ge=60, le=86400, description="the bucket's width: 60 is runs per minute")
    ] = 60,
    tag: TagFilter = None,
    params: ParamFilter,
) -> Timeline:
    where = history_filter(cron_id, status, handler_name, from_date, to_date, tag, params)
    return await statistics.timeline(await admin.store(), where, bucket_seconds=bucket_seconds, now=utcnow())


@router.get(
    "/recent-runs",
    tags=TAGS,
    summary="The latest runs of each of some cron jobs (a strip per job)",
    responses=responses(200, "Per cron job, in the order asked, its latest runs newest first"),
)
async def recent_runs(
    admin: Admin,
    cron_ids: Annotated[
        str, Query(pattern=CRON_IDS, description=f"cron job ids, comma-separated (at most {MAX_STRIP_JOBS})")
    ],
    per_job: Annotated[int, Query(ge=1, le=MAX_STRIP_RUNS)] = 20,
) -> list[CronRecentRuns]:
    ids = list(dict.fromkeys(int(part) for part in cron_ids.split(",")))
    return await statistics.recent_runs(await admin.store(), ids, per_job=per_job)
