"""The admin operations on a database: jobu.operations called directly, over a JobStore and, for
the operations that queue a run or read the dead-letter queue, the target's SQS queues.

The queues, the deployed handlers and the worker's Timeout are asked for only by the operations that
need them, so listing runs needs nothing but the database. jobu's errors become AdminErrors with the
code and status the API answers them with (jobu.api.errors), so a refusal reads the same on both
targets. The metrics the operations record (for CloudWatch, from a Lambda function) are dropped.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from pydantic import ValidationError

from jobu.clock import utcnow
from jobu.dead_letter_queue import DeadLetterQueue
from jobu.errors import JobuError
from jobu.models import (
    CronJob,
    CronJobSpec,
    ExecutionStatus,
    ExecutionSummary,
    RejectedEvent,
    RejectedEventSummary,
)
from jobu.observability import metrics
from jobu.operations import (
    cron_jobs,
    dead_letters,
    health,
    rejected_records,
    runs,
    statistics,
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
from jobu.operations.dead_letters import (
    MAX_PEEK,
    DeadLetter,
    DeadLetterDepth,
    RedriveRequest,
    RedriveTask,
)
from jobu.operations.handlers import HandlerInfo, list_handlers
from jobu.operations.health import Health, Readiness
from jobu.operations.paging import DEFAULT_PAGE_SIZE, Page, PageRequest
from jobu.operations.rejected_records import ReplayResult
from jobu.operations.runs import (
    BulkRetryRequest,
    BulkRetryResult,
    CancelResult,
    RetryResult,
    RunDetail,
    RunFilter,
)
from jobu.operations.statistics import CronRecentRuns, StatusCounts, Timeline
from jobu.store import JobStore
from jobu.work_queue import QueuedRun, SendReport, WorkQueue
from jobu_local.admin.client import AdminClient
from jobu_local.admin.errors import AdminError, validation_error

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


def admin_error(error: JobuError) -> AdminError:
    """jobu's error as the API answers it: the same code and status (500 for an unmapped kind)."""
    from jobu.api.errors import ERRORS

    for kind, (status, code) in ERRORS.items():
        if isinstance(error, kind):
            return AdminError(status, code, str(error))
    return AdminError(500, "internal_error", f"{type(error).__name__}: {error}")


def _answered[**P, T](
    operation: Callable[P, Coroutine[Any, Any, T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    @functools.wraps(operation)
    async def answered(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await operation(*args, **kwargs)
        except JobuError as error:
            raise admin_error(error) from error
        except ValidationError as error:  # a filter or page built here from the caller's values
            raise validation_error(error) from error
        finally:
            # The metrics an operation records are CloudWatch's from a Lambda function; outside one
            # nothing publishes them (and past 100 values Powertools would print them to stdout).
            metrics.clear_metrics()

    return answered


class _DryRunQueue(WorkQueue):
    """The work queue given to a dry run, which queues nothing: a send would be a bug, and says so."""

    def __init__(self) -> None:
        super().__init__(sqs_client=cast("SQSClient", None), queue_url="")

    async def send(self, runs: Sequence[QueuedRun]) -> SendReport:
        raise RuntimeError(f"a dry run tried to queue {len(runs)} run(s)")


@dataclass(frozen=True)
class Resources:
    """What some operations need besides the store, each asked for when first needed (a missing
    one raises the caller's error, which says how to provide it)."""

    work_queue: Callable[[], WorkQueue]
    dead_letters: Callable[[], DeadLetterQueue]
    known_handlers: Callable[[], frozenset[str]]
    worker_timeout_seconds: Callable[[], int]


class DirectAdminClient(AdminClient):
    def __init__(self, store: JobStore, resources: Resources) -> None:
        self._store = store
        self._resources = resources

    @_answered
    async def list_cron_jobs(
        self, page: int = 1, size: int = DEFAULT_PAGE_SIZE, is_enabled: bool | None = None
    ) -> Page[CronJob]:
        request = PageRequest(page=page, size=size)
        return await cron_jobs.list_page(self._store, request, is_enabled=is_enabled)

    @_answered
    async def get_cron_job(self, job_id: int) -> CronJob:
        return await cron_jobs.get(self._store, job_id)

    @_answered
    async def create_cron_job(self, spec: CronJobSpec) -> CronJob:
        resources = self._resources
        return await cron_jobs.create(
            self._store,
            spec,
            known_handlers=resources.known_handlers(),
            worker_timeout_seconds=resources.worker_timeout_seconds(),
            now=utcnow(),
        )

    @_answered
    async def update_cron_job(self, job_id: int, changes: CronJobUpdate) -> CronJob:
        resources = self._resources
        return await cron_jobs.update(
            self._store,
            job_id,
            changes,
            known_handlers=resources.known_handlers(),
            worker_timeout_seconds=resources.worker_timeout_seconds(),
            now=utcnow(),
        )

    @_answered
    async def delete_cron_job(self, job_id: int) -> None:
        await cron_jobs.delete(self._store, job_id)

    @_answered
    async def toggle_cron_job(self, job_id: int) -> CronJob:
        return await cron_jobs.toggle(self._store, job_id, now=utcnow())

    @_answered
    async def run_cron_job(self, job_id: int, request: RunNowRequest | None = None) -> RunNowResult:
        return await cron_jobs.run_now(
            self._store,
            self._resources.work_queue(),
            job_id,
            request or RunNowRequest(),
            known_handlers=self._resources.known_handlers(),
            now=utcnow(),
        )

    @_answered
    async def pause_cron_job(self, job_id: int, request: PauseRequest | None = None) -> CronJob:
        return await cron_jobs.pause(self._store, job_id, request or PauseRequest(), now=utcnow())

    @_answered
    async def resume_cron_job(self, job_id: int) -> CronJob:
        return await cron_jobs.resume(self._store, job_id, now=utcnow())

    @_answered
    async def backfill_cron_job(self, job_id: int, request: BackfillRequest) -> BackfillResult:
        queue = _DryRunQueue() if request.dry_run else self._resources.work_queue()
        return await cron_jobs.backfill(self._store, queue, job_id, request, now=utcnow())

    @_answered
    async def preview_cron_expression(
        self, cron_expression: str, timezone: str = "UTC", count: int = DEFAULT_PREVIEW
    ) -> SchedulePreview:
        return cron_jobs.preview(cron_expression, timezone=timezone, count=count, now=utcnow())

    @_answered
    async def handlers(self) -> list[HandlerInfo]:
        return list_handlers(self._resources.known_handlers())

    @_answered
    async def cancel_run(self, run_id: int) -> CancelResult:
        return await runs.cancel(self._store, self._resources.work_queue(), run_id, now=utcnow())

    @_answered
    async def run_status_counts(
        self,
        *,
        cron_id: int | None = None,
        status: ExecutionStatus | None = None,
        handler_name: str | None = None,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
    ) -> StatusCounts:
        where = RunFilter(
            cron_id=cron_id, status=status, handler_name=handler_name, from_date=from_date, to_date=to_date
        )
        return await statistics.status_counts(self._store, where)

    @_answered
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
        where = RunFilter(
            cron_id=cron_id, status=status, handler_name=handler_name, from_date=from_date, to_date=to_date
        )
        return await statistics.timeline(self._store, where, bucket_seconds=bucket_seconds, now=utcnow())

    @_answered
    async def recent_runs(self, cron_ids: str, per_job: int = 20) -> list[CronRecentRuns]:
        ids = list(dict.fromkeys(int(part) for part in cron_ids.split(",")))
        return await statistics.recent_runs(self._store, ids, per_job=per_job)

    @_answered
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
        run_filter = RunFilter(
            cron_id=cron_id, status=status, handler_name=handler_name, from_date=from_date, to_date=to_date
        )
        return await runs.list_page(self._store, PageRequest(page=page, size=size), run_filter)

    @_answered
    async def get_run(self, run_id: int) -> RunDetail:
        return await runs.get(self._store, run_id)

    @_answered
    async def retry_run(self, run_id: int) -> RetryResult:
        return await runs.retry(self._store, self._resources.work_queue(), run_id, now=utcnow())

    @_answered
    async def bulk_retry_runs(self, request: BulkRetryRequest) -> BulkRetryResult:
        # a dry run touches no queue, so it needs none
        queue = _DryRunQueue() if request.dry_run else self._resources.work_queue()
        return await runs.bulk_retry(self._store, queue, request, now=utcnow())

    @_answered
    async def delete_run(self, run_id: int) -> None:
        await runs.delete(self._store, run_id)

    @_answered
    async def list_rejected(self, page: int = 1, size: int = DEFAULT_PAGE_SIZE) -> Page[RejectedEventSummary]:
        return await rejected_records.list_page(self._store, PageRequest(page=page, size=size))

    @_answered
    async def get_rejected(self, record_id: int) -> RejectedEvent:
        return await rejected_records.get(self._store, record_id)

    @_answered
    async def replay_rejected(self, record_id: int) -> ReplayResult:
        return await rejected_records.replay(
            self._store,
            self._resources.work_queue(),
            record_id,
            known_handlers=self._resources.known_handlers(),
            now=utcnow(),
        )

    @_answered
    async def discard_rejected(self, record_id: int) -> None:
        await rejected_records.discard(self._store, record_id)

    @_answered
    async def dead_letter_depth(self) -> DeadLetterDepth:
        return await dead_letters.depth(self._resources.dead_letters())

    @_answered
    async def peek_dead_letters(self, max_messages: int = MAX_PEEK) -> list[DeadLetter]:
        return await dead_letters.peek(self._store, self._resources.dead_letters(), max_messages=max_messages)

    @_answered
    async def redrive_dead_letters(self, request: RedriveRequest | None = None) -> RedriveTask:
        return await dead_letters.redrive(self._resources.dead_letters(), request or RedriveRequest())

    @_answered
    async def list_redrives(self) -> list[RedriveTask]:
        return await dead_letters.redrives(self._resources.dead_letters())

    @_answered
    async def liveness(self) -> Health:
        return health.Health()

    @_answered
    async def readiness(self) -> Readiness:
        return await health.ready(self._store)
