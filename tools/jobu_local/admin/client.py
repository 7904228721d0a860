"""The admin client interface: one method per route of the admin API (jobu.api.routes), with the
route function's name and parameters (less the services it runs on) and its answer's model.

tests/unit/test_admin_client.py holds the interface to the API's routes and OpenAPI document, so a
route added, renamed or changed there fails until the interface and both implementations follow.
Every failure of either implementation is an AdminError (admin/errors.py): the API's {error,
detail} and its status.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

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


class AdminClient(Protocol):
    """The admin API's operations, on a database (direct.DirectAdminClient) or over HTTP
    (http.HttpAdminClient)."""

    # cron jobs: /api/crons
    async def list_cron_jobs(
        self, page: int = 1, size: int = DEFAULT_PAGE_SIZE, is_enabled: bool | None = None
    ) -> Page[CronJob]: ...

    async def get_cron_job(self, job_id: int) -> CronJob: ...

    async def create_cron_job(self, spec: CronJobSpec) -> CronJob: ...

    async def update_cron_job(self, job_id: int, changes: CronJobUpdate) -> CronJob: ...

    async def delete_cron_job(self, job_id: int) -> None: ...

    async def toggle_cron_job(self, job_id: int) -> CronJob: ...

    async def run_cron_job(self, job_id: int, request: RunNowRequest | None = None) -> RunNowResult: ...

    async def pause_cron_job(self, job_id: int, request: PauseRequest | None = None) -> CronJob: ...

    async def resume_cron_job(self, job_id: int) -> CronJob: ...

    async def backfill_cron_job(self, job_id: int, request: BackfillRequest) -> BackfillResult: ...

    # a schedule's preview: /api/cron-preview; the handlers: /api/handlers
    async def preview_cron_expression(
        self, cron_expression: str, timezone: str = "UTC", count: int = DEFAULT_PREVIEW
    ) -> SchedulePreview: ...

    async def handlers(self) -> list[HandlerInfo]: ...

    # runs: /api/jobs
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
    ) -> Page[ExecutionSummary]: ...

    async def get_run(self, run_id: int) -> RunDetail: ...

    async def retry_run(self, run_id: int) -> RetryResult: ...

    async def cancel_run(self, run_id: int) -> CancelResult: ...

    async def bulk_retry_runs(self, request: BulkRetryRequest) -> BulkRetryResult: ...

    async def delete_run(self, run_id: int) -> None: ...

    # statistics: /api/stats
    async def run_status_counts(
        self,
        *,
        cron_id: int | None = None,
        status: ExecutionStatus | None = None,
        handler_name: str | None = None,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
    ) -> StatusCounts: ...

    async def run_timeline(
        self,
        *,
        cron_id: int | None = None,
        status: ExecutionStatus | None = None,
        handler_name: str | None = None,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
        bucket_seconds: int = 60,
    ) -> Timeline: ...

    async def recent_runs(self, cron_ids: str, per_job: int = 20) -> list[CronRecentRuns]: ...

    # rejected Kafka records: /api/rejected
    async def list_rejected(
        self, page: int = 1, size: int = DEFAULT_PAGE_SIZE
    ) -> Page[RejectedEventSummary]: ...

    async def get_rejected(self, record_id: int) -> RejectedEvent: ...

    async def replay_rejected(self, record_id: int) -> ReplayResult: ...

    async def discard_rejected(self, record_id: int) -> None: ...

    # the dead-letter queue: /api/dead-letters
    async def dead_letter_depth(self) -> DeadLetterDepth: ...

    async def peek_dead_letters(self, max_messages: int = MAX_PEEK) -> list[DeadLetter]: ...

    async def redrive_dead_letters(self, request: RedriveRequest | None = None) -> RedriveTask: ...

    async def list_redrives(self) -> list[RedriveTask]: ...

    # probes: /health, /ready
    async def liveness(self) -> Health: ...

    async def readiness(self) -> Readiness: ...
