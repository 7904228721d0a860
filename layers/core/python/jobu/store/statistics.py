"""What the dashboard draws, read from the job store: runs per status, runs and durations per time
bucket, and each cron job's latest runs.

Aggregates, so they are computed by the database (sql/<backend>/statistics.sql); the filters are the
run history's (Runs.bind_filter).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jobu.models import ExecutionStatus
from jobu.store.rows import Rows
from jobu.store.runs import Runs


@dataclass(frozen=True)
class TimelineRow:
    """The runs of one status created in one bucket."""

    bucket: int  # buckets since the window's start
    status: ExecutionStatus
    runs: int
    timed: int  # of those, the ones with a start and an end
    duration_sum: float
    duration_max: float | None


def _seconds(value: Any) -> float | None:
    # to the microsecond the backends store (SQLite's arithmetic on text times is a double)
    return None if value is None else round(float(value), 6)


class RunStatistics(Rows):
    def __init__(self, runs: Runs) -> None:
        super().__init__(runs.connector)
        self._runs = runs

    async def _rows(self, query: str, **params: Any) -> list[dict[str, Any]]:
        return [dict(row) for row in await self._select(query, **params)]

    async def status_counts(
        self,
        *,
        job_id: int | None,
        statuses: Sequence[ExecutionStatus] | None,
        handler_name: str | None,
        from_date: datetime | None,
        to_date: datetime | None,
        tags: Sequence[str] | None = None,
        params: Mapping[str, str] | None = None,
        batch_id: int | None = None,
    ) -> dict[ExecutionStatus, int]:
        """How many runs match the filter, per status (statuses without runs are left out)."""
        where = self._runs.bind_filter(
            job_id=job_id,
            statuses=statuses,
            handler_name=handler_name,
            from_date=from_date,
            to_date=to_date,
        )
        rows = await self._rows(
            "run_status_counts",
            **where,
            tags=self._runs.bind_tags(tags),
            params=self._runs.bind_params(params),
            batch_id=batch_id,
        )
        return {ExecutionStatus(row["status"]): int(row["runs"]) for row in rows}

    async def timeline(
        self,
        *,
        job_id: int | None,
        statuses: Sequence[ExecutionStatus] | None,
        handler_name: str | None,
        from_date: datetime,
        to_date: datetime,
        bucket_seconds: int,
        tags: Sequence[str] | None = None,
        params: Mapping[str, str] | None = None,
        batch_id: int | None = None,
    ) -> list[TimelineRow]:
        """Runs created in [from_date, to_date) that match the filter, per bucket and status."""
        where = self._runs.bind_filter(
            job_id=job_id,
            statuses=statuses,
            handler_name=handler_name,
            from_date=from_date,
            to_date=to_date,
        )
        rows = await self._rows(
            "run_timeline",
            **where,
            tags=self._runs.bind_tags(tags),
            params=self._runs.bind_params(params),
            bucket_seconds=bucket_seconds,
            batch_id=batch_id,
        )
        return [
            TimelineRow(
                bucket=int(row["bucket"]),
                status=ExecutionStatus(row["status"]),
                runs=int(row["runs"]),
                timed=int(row["timed"]),
                duration_sum=_seconds(row["duration_sum"]) or 0.0,
                duration_max=_seconds(row["duration_max"]),
            )
            for row in rows
        ]

    async def recent_runs(self, job_ids: Sequence[int], *, per_job: int) -> list[dict[str, Any]]:
        """The latest `per_job` runs of each cron job (job_id, id, status and times), newest first."""
        if not job_ids:
            return []
        encoded = self._j(list(job_ids))
        return await self._rows("recent_runs_by_job", job_ids=encoded, per_job=per_job)
