"""`jobu runs` and `jobu cron`: the job store, read and changed through the core's own API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from jobu_local.commands.table import render, to_json

if TYPE_CHECKING:
    from jobu.models import CronJob, Execution, RejectedEvent
    from jobu.store import JobStore

RUN_COLUMNS = (
    "id",
    "status",
    "handler",
    "source",
    "job",
    "retries",
    "scheduled",
    "started",
    "finished",
    "error",
)
CRON_COLUMNS = ("id", "name", "cron", "handler", "enabled", "overlap", "retries", "timeout", "next_run_at")


@asynccontextmanager
async def opened_store(url: str, *, migrate: bool = False) -> AsyncIterator[JobStore]:
    from jobu.store import open_store

    store = await open_store(url)
    try:
        if migrate:
            await store.migrate()
        yield store
    finally:
        await store.close()


def run_row(run: Execution) -> list[Any]:
    return [
        run.id,
        run.status.value,
        run.handler_name,
        run.param_source,
        run.job_id,
        run.retry_count,
        run.scheduled_time,
        run.started_at,
        run.finished_at,
        run.error_message,
    ]


def runs_table(runs: Sequence[Execution]) -> str:
    return render(RUN_COLUMNS, [run_row(run) for run in runs])


def run_detail(run: Execution) -> str:
    fields = run.model_dump(mode="json")
    width = max(len(name) for name in fields)
    lines = []
    for name, value in fields.items():
        shown = value if isinstance(value, str) else json.dumps(value)
        lines.append(f"{name.ljust(width)}  {shown}")
    return "\n".join(lines)


def cron_table(jobs: Sequence[CronJob]) -> str:
    rows = [
        [
            job.id,
            job.name,
            job.cron_expression,
            job.handler_name,
            "yes" if job.is_enabled else "no",
            "yes" if job.allow_overlap else "no",
            job.max_retry,
            job.timeout_seconds,
            job.next_run_at,
        ]
        for job in jobs
    ]
    return render(CRON_COLUMNS, rows)


def dump(models: Sequence[Any]) -> str:
    return to_json([model.model_dump(mode="json") for model in models])


async def list_runs(
    url: str, *, status: str | None, handler: str | None, job_id: int | None, limit: int
) -> list[Execution]:
    from jobu.models import ExecutionStatus

    async with opened_store(url) as store:
        return await store.list_executions(
            status=ExecutionStatus(status.upper()) if status else None,
            handler_name=handler,
            job_id=job_id,
            limit=limit,
        )


async def list_rejected(url: str, *, limit: int) -> list[RejectedEvent]:
    async with opened_store(url) as store:
        return await store.list_rejected_events(limit=limit)


def rejected_table(rejected: Sequence[RejectedEvent]) -> str:
    rows = [
        [
            r.id,
            r.record_key
            if r.source_topic is None
            else f"{r.source_topic}-{r.source_partition}@{r.source_offset}",
            r.created_at,
            r.reason,
            r.raw_value[:60] if r.raw_encoding == "utf-8" else f"({r.raw_encoding}) {r.raw_value[:48]}",
        ]
        for r in rejected
    ]
    return render(["id", "record", "received", "reason", "value"], rows)


async def get_run(url: str, execution_id: int) -> Execution | None:
    async with opened_store(url) as store:
        return await store.get_execution(execution_id)


async def list_cron(url: str) -> list[CronJob]:
    async with opened_store(url) as store:
        return await store.list_cron_jobs()


async def add_cron(
    url: str, data: dict[str, Any], *, known_handlers: frozenset[str], worker_timeout_seconds: int
) -> CronJob:
    from jobu.cron_jobs import create_cron_job, parse_spec

    spec = parse_spec(data)  # refused here, before the database is touched
    async with opened_store(url, migrate=True) as store:
        return await create_cron_job(
            store,
            spec,
            known_handlers=known_handlers,
            worker_timeout_seconds=worker_timeout_seconds,
            now=_now(),
        )


async def enable_cron(url: str, name: str, *, enabled: bool) -> CronJob:
    from jobu.cron_jobs import set_enabled

    async with opened_store(url) as store:
        return await set_enabled(store, name, enabled=enabled, now=_now())


async def remove_cron(url: str, name: str) -> bool:
    async with opened_store(url) as store:
        return await store.delete_cron_job(name)


def _now() -> datetime:
    return datetime.now(UTC)
