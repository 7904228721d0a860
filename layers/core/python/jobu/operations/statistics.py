"""Figures about runs, for the dashboard's pictures and counters (and any client): how many runs
per status, runs and their durations per time bucket, and the latest runs of each cron job.

Each takes the run history's filter (RunFilter), so a picture shows the runs the list shows.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from jobu.models import ExecutionStatus, UtcDatetime
from jobu.operations.runs import RunFilter
from jobu.store import JobStore
from jobu.store.statistics import TimelineRow

MAX_BUCKETS = 1440  # a day of minutes
DEFAULT_BUCKETS = 60
MAX_STRIP_JOBS = 100
MAX_STRIP_RUNS = 50


class StatusCounts(BaseModel):
    counts: dict[ExecutionStatus, int] = Field(description="runs per status (every status, zero included)")
    total: int


class TimelineBucket(BaseModel):
    start: datetime = Field(description="the bucket covers [start, start + bucket_seconds)")
    runs: int = Field(description="runs created in the bucket")
    by_status: dict[ExecutionStatus, int] = Field(description="those runs per status now")
    timed: int = Field(description="those that started and finished")
    duration_avg_seconds: float | None
    duration_max_seconds: float | None


class Timeline(BaseModel):
    from_date: datetime
    to_date: datetime
    bucket_seconds: int
    buckets: list[TimelineBucket] = Field(description="every bucket of the window, empty ones included")


class RunMark(BaseModel):
    """A run as a strip of recent runs draws it."""

    id: int
    status: ExecutionStatus
    created_at: UtcDatetime
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None


class CronRecentRuns(BaseModel):
    cron_id: int
    runs: list[RunMark] = Field(description="newest first")


async def status_counts(store: JobStore, run_filter: RunFilter) -> StatusCounts:
    found = await store.statistics.status_counts(**run_filter.store_filter())
    counts = {status: found.get(status, 0) for status in ExecutionStatus}
    return StatusCounts(counts=counts, total=sum(counts.values()))


def window(run_filter: RunFilter, *, bucket_seconds: int, now: datetime) -> tuple[datetime, datetime]:
    """[from, to) of a timeline: to_date (default now) back to from_date (default 60 buckets before),
    cut to its last MAX_BUCKETS buckets and started on a whole bucket."""
    where = run_filter.store_filter()
    end: datetime = where["to_date"] or now
    step = timedelta(seconds=bucket_seconds)
    start: datetime = where["from_date"] or end - DEFAULT_BUCKETS * step
    start = max(start, end - MAX_BUCKETS * step)
    epoch = datetime(1970, 1, 1, tzinfo=end.tzinfo)
    start = epoch + ((start - epoch) // step) * step
    return start, end


async def timeline(store: JobStore, run_filter: RunFilter, *, bucket_seconds: int, now: datetime) -> Timeline:
    """Runs created per bucket (stacked by status) and the durations of those that ran."""
    start, end = window(run_filter, bucket_seconds=bucket_seconds, now=now)
    where = run_filter.store_filter() | {"from_date": start, "to_date": end}
    rows = await store.statistics.timeline(**where, bucket_seconds=bucket_seconds)
    per_bucket: dict[int, list[TimelineRow]] = defaultdict(list)
    for row in rows:
        per_bucket[row.bucket].append(row)
    step = timedelta(seconds=bucket_seconds)
    count = -(-(end - start) // step)  # ceiling: a partial last bucket counts
    return Timeline(
        from_date=start,
        to_date=end,
        bucket_seconds=bucket_seconds,
        buckets=[_bucket(start + index * step, per_bucket.get(index, [])) for index in range(count)],
    )


def _bucket(start: datetime, rows: list[TimelineRow]) -> TimelineBucket:
    timed = sum(row.timed for row in rows)
    maxima = [row.duration_max for row in rows if row.duration_max is not None]
    return TimelineBucket(
        start=start,
        runs=sum(row.runs for row in rows),
        by_status={row.status: row.runs for row in rows},
        timed=timed,
        duration_avg_seconds=sum(row.duration_sum for row in rows) / timed if timed else None,
        duration_max_seconds=max(maxima) if maxima else None,
    )


async def recent_runs(store: JobStore, cron_ids: list[int], *, per_job: int) -> list[CronRecentRuns]:
    """The latest `per_job` runs of each cron job, in the order the ids were given."""
    marks: dict[int, list[RunMark]] = {cron_id: [] for cron_id in cron_ids}
    for row in await store.statistics.recent_runs(sorted(set(cron_ids)), per_job=per_job):
        marks[int(row["job_id"])].append(RunMark.model_validate(row))
    return [CronRecentRuns(cron_id=cron_id, runs=runs) for cron_id, runs in marks.items()]
