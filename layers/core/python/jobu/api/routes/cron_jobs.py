"""/api/crons: cron jobs (the original jobu's paths), run now, pause and resume, and backfill
(docs/scheduling.md); /api/cron-preview: the next fire times of an expression, or why jobu refuses it."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from jobu.api.errors import responses
from jobu.api.parameters import Admin, Caller, JobId, PageNumber, PageSize
from jobu.clock import utcnow
from jobu.models import MAX_CRON_EXPRESSION_LENGTH, CronJob
from jobu.operations import cron_jobs
from jobu.operations.cron_jobs import (
    DEFAULT_PREVIEW,
    MAX_PREVIEW,
    BackfillRequest,
    BackfillResult,
    CronJobUpdate,
    PauseRequest,
    RunNowRequest,
    RunNowResult,
    SchedulePreview,
)
from jobu.operations.paging import DEFAULT_PAGE_SIZE, Page, PageRequest
from jobu.specs import CronJobSpec
from jobu.work_queue import DryRunQueue

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # untyped in Powertools
# /api/cron-preview: an expression's fire times before any job has it
preview_router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]
TAGS = ["cron jobs"]


@router.get(
    "/", tags=TAGS, summary="List cron jobs", responses=responses(200, "A page of cron jobs, by name")
)
async def list_cron_jobs(
    admin: Admin,
    page: PageNumber = 1,
    size: PageSize = DEFAULT_PAGE_SIZE,
    is_enabled: Annotated[bool | None, Query()] = None,
) -> Page[CronJob]:
    request = PageRequest(page=page, size=size)
    return await cron_jobs.list_page(await admin.store(), request, is_enabled=is_enabled)


@router.get("/<job_id>", tags=TAGS, summary="Read a cron job", responses=responses(200, "The cron job", 404))
async def get_cron_job(job_id: JobId, admin: Admin) -> CronJob:
    return await cron_jobs.get(await admin.store(), job_id)


@router.post(
    "/",
    tags=TAGS,
    summary="Create a cron job",
    status_code=201,
    responses=responses(201, "The cron job, created", 409, body=True),
)
async def create_cron_job(spec: CronJobSpec, admin: Admin, actor: Caller) -> CronJob:
    return await cron_jobs.create(
        await admin.store(),
        spec,
        known_handlers=admin.known_handlers,
        worker_timeouts=admin.worker_timeouts,
        now=utcnow(),
        actor=actor,
    )


@router.put(
    "/<job_id>",
    tags=TAGS,
    summary="Change a cron job (the fields given)",
    responses=responses(200, "The cron job, changed", 404, 409, body=True),
)
async def update_cron_job(job_id: JobId, changes: CronJobUpdate, admin: Admin, actor: Caller) -> CronJob:
    return await cron_jobs.update(
        await admin.store(),
        job_id,
        changes,
        known_handlers=admin.known_handlers,
        worker_timeouts=admin.worker_timeouts,
        now=utcnow(),
        actor=actor,
    )


@router.delete(
    "/<job_id>",
    tags=TAGS,
    summary="Delete a cron job (its runs stay; a WAITING one is cancelled)",
    status_code=204,
    responses=responses(204, "Deleted", 404),
)
async def delete_cron_job(job_id: JobId, admin: Admin, actor: Caller) -> Response[None]:
    await cron_jobs.delete(await admin.store(), job_id, now=utcnow(), actor=actor)
    return Response(204)


@router.post(
    "/<job_id>/toggle",
    tags=TAGS,
    summary="Enable a disabled cron job, or disable an enabled one",
    responses=responses(200, "The cron job, switched", 404),
)
async def toggle_cron_job(job_id: JobId, admin: Admin, actor: Caller) -> CronJob:
    return await cron_jobs.toggle(await admin.store(), job_id, now=utcnow(), actor=actor)


@router.post(
    "/<job_id>/run",
    tags=TAGS,
    summary="Run a cron job now, with optional param overrides",
    status_code=201,
    responses=responses(201, "The run, created and queued (param_source manual)", 404, body=True),
)
async def run_cron_job(
    job_id: JobId, admin: Admin, actor: Caller, request: Annotated[RunNowRequest | None, Body()] = None
) -> RunNowResult:
    return await cron_jobs.run_now(
        await admin.store(),
        admin.queue,
        job_id,
        request or RunNowRequest(),
        known_handlers=admin.known_handlers,
        now=utcnow(),
        actor=actor,
    )


@router.post(
    "/<job_id>/pause",
    tags=TAGS,
    summary="Pause a cron job, until a time or until resumed",
    responses=responses(200, "The cron job, paused", 404),
)
async def pause_cron_job(
    job_id: JobId, admin: Admin, actor: Caller, request: Annotated[PauseRequest | None, Body()] = None
) -> CronJob:
    pause = request or PauseRequest()
    return await cron_jobs.pause(await admin.store(), job_id, pause, now=utcnow(), actor=actor)


@router.post(
    "/<job_id>/resume",
    tags=TAGS,
    summary="Resume a paused cron job (its catch-up policy decides about the slots passed meanwhile)",
    responses=responses(200, "The cron job, resumed", 404),
)
async def resume_cron_job(job_id: JobId, admin: Admin, actor: Caller) -> CronJob:
    return await cron_jobs.resume(await admin.store(), job_id, now=utcnow(), actor=actor)


@router.post(
    "/<job_id>/backfill",
    tags=TAGS,
    summary="Runs for the job's slots in a past time range (a dry run by default)",
    responses=responses(200, "Each slot, with the run it has or would have", 404, body=True),
)
async def backfill_cron_job(
    job_id: JobId, request: BackfillRequest, admin: Admin, actor: Caller
) -> BackfillResult:
    queue = DryRunQueue() if request.dry_run else admin.queue  # a dry run needs no queue
    return await cron_jobs.backfill(await admin.store(), queue, job_id, request, now=utcnow(), actor=actor)


@preview_router.get(
    "/",
    tags=TAGS,
    summary="Preview a cron expression: its next fire times",
    responses=responses(200, "The next fire times; 400 invalid_cron_job says why an expression is refused"),
)
async def preview_cron_expression(
    cron_expression: Annotated[str, Query(min_length=1, max_length=MAX_CRON_EXPRESSION_LENGTH)],
    timezone: Annotated[str, Query(min_length=1, max_length=64, description="an IANA zone")] = "UTC",
    count: Annotated[int, Query(ge=1, le=MAX_PREVIEW)] = DEFAULT_PREVIEW,
) -> SchedulePreview:
    return cron_jobs.preview(cron_expression, timezone=timezone, count=count, now=utcnow())
