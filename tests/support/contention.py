"""What the contention tests share: many every-minute jobs seeded at once, a tick run as the cron
dispatcher runs it, an SQS stand-in that keeps what it was sent, and a second connection that
holds job rows locked the way another tick, a worker or an admin request holds them.

The database is always the real one (PostgreSQL or MariaDB); only SQS is a stand-in here, since
what these tests check is in the database.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncmy
import asyncpg

from jobu.config import RetryPolicy, SweepPolicy
from jobu.cron_dispatch import TickReport, run_tick
from jobu.observability import metrics
from jobu.store import JobStore
from jobu.store.mysql import connect_kwargs
from jobu.work_queue import WorkQueue

POLICY = SweepPolicy(grace=timedelta(seconds=60), stuck_after=timedelta(minutes=15))
RETRY = RetryPolicy(base=timedelta(seconds=10), max=timedelta(seconds=900))


class RecordingSQS:
    """SendMessageBatch that succeeds (or, while `down`, fails every entry) and keeps the bodies."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.calls = 0
        self.down = False

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls += 1
        if self.down:
            failed = [{"Id": e["Id"], "Code": "ServiceUnavailable", "SenderFault": False} for e in Entries]
            return {"Successful": [], "Failed": failed}
        self.bodies += [json.loads(entry["MessageBody"]) for entry in Entries]
        return {"Successful": [{"Id": entry["Id"]} for entry in Entries], "Failed": []}


def work_queue(sqs: RecordingSQS | None = None) -> WorkQueue:
    return WorkQueue(sqs_client=sqs or RecordingSQS(), queue_url="https://sqs.test/jobu-work")  # type: ignore[arg-type]


async def tick(
    store: JobStore,
    at: datetime,
    *,
    queue: WorkQueue | None = None,
    now: datetime | None = None,
    time_left: Callable[[], float] | None = None,
) -> TickReport:
    """The cron dispatcher's tick for `at` (its scheduled time), with the clock at `now` (default `at`)."""
    extra: dict[str, Any] = {} if time_left is None else {"time_left": time_left}
    report = await run_tick(
        store,
        queue or work_queue(),
        tick_time=at,
        now=now or at,
        policy=POLICY,
        retry_policy=RETRY,
        **extra,
    )
    metrics.clear_metrics()
    return report


async def seed_jobs(
    store: JobStore,
    count: int,
    *,
    next_run_at: datetime,
    expression: str = "* * * * *",
    catchup_policy: str = "coalesce",
    catchup_limit: int = 10,
    overlap_policy: str = "allow",
) -> None:
    """`count` enabled jobs of the sample handler, all due at `next_run_at`, in one transaction."""
    t = store.connector.encode_time
    rows = [
        (
            f"job-{i:06d}",
            expression,
            "sample",
            json.dumps({"i": i}),
            "UTC",
            catchup_policy,
            catchup_limit,
            overlap_policy,
            overlap_policy == "allow",
            t(next_run_at),
            t(next_run_at - timedelta(days=1)),
        )
        for i in range(count)
    ]
    columns = (
        "name, cron_expression, handler_name, handler_params, timezone, catchup_policy, catchup_limit, "
        "overlap_policy, allow_overlap, next_run_at, created_at, updated_at, description, is_enabled"
    )
    async with store.connector.transaction() as conn:
        if store.backend == "postgres":
            values = ", ".join(f"${n}" for n in range(1, 12)) + ", $11, '', TRUE"
            await conn.executemany(f"INSERT INTO cron_jobs ({columns}) VALUES ({values})", rows)
        elif store.backend == "sqlite":
            values = ", ".join(["?"] * 12) + ", '', 1"
            await conn.executemany(
                f"INSERT INTO cron_jobs ({columns}) VALUES ({values})", [(*row, row[-1]) for row in rows]
            )
        else:
            values = ", ".join(["%s"] * 11) + ", %s, '', 1"
            async with conn.cursor() as cursor:
                await cursor.executemany(
                    f"INSERT INTO cron_jobs ({columns}) VALUES ({values})", [(*row, row[-1]) for row in rows]
                )


async def runs_per_slot(store: JobStore) -> dict[tuple[int, datetime], int]:
    """How many runs each (job, scheduled_time) has (the unique key says at most one; 0 is absent)."""
    counts: dict[tuple[int, datetime], int] = {}
    offset = 0
    everything = {"job_id": None, "statuses": None, "handler_name": None, "from_date": None, "to_date": None}
    while page := await store.runs.page(limit=5000, offset=offset, **everything):
        for run in page:
            if run.job_id is not None and run.scheduled_time is not None:
                key = (run.job_id, run.scheduled_time)
                counts[key] = counts.get(key, 0) + 1
        offset += len(page)
    return counts


async def job_ids(store: JobStore) -> list[int]:
    jobs = await store.cron_jobs.page(is_enabled=None, limit=100_000, offset=0)
    return sorted(job.id for job in jobs)


@asynccontextmanager
async def rows_held(url: str, ids: Sequence[int]) -> AsyncIterator[Callable[[str], Any]]:
    """A connection of its own (not the store's pool) that locks the cron_jobs rows `ids` FOR UPDATE
    and holds them until the block ends; then commits what the block ran through the callable it
    gets (statements on that connection, as another tick's still-open transaction would)."""
    id_list = ", ".join(str(int(i)) for i in ids)
    lock = f"SELECT id FROM cron_jobs WHERE id IN ({id_list}) ORDER BY id FOR UPDATE"
    if url.startswith("postgres"):
        conn = await asyncpg.connect(url)
        try:
            transaction = conn.transaction()
            await transaction.start()
            await conn.fetch(lock)
            yield conn.execute
            await transaction.commit()
        finally:
            await conn.close()
    else:
        my = await asyncmy.connect(**connect_kwargs(url), autocommit=False)
        try:
            async with my.cursor() as cursor:
                await cursor.execute("SET time_zone = '+00:00'")
                await cursor.execute(lock)
                await cursor.fetchall()

                async def execute(statement: str) -> None:
                    await cursor.execute(statement)

                yield execute
            await my.commit()
        finally:
            my.close()


def sql_time(backend: str, at: datetime) -> str:
    """`at` as a SQL literal of the backend's timestamp columns (MySQL's hold naive UTC)."""
    naive = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return f"'{naive}'" if backend == "mysql" else f"'{naive}+00:00'"
