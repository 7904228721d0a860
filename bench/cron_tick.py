"""The cron tick at scale: 100,000 jobs with 1,000 and with 10,000 due, on PostgreSQL, MariaDB and
SQLite, against the seed's approach in the same run on the same data.

Ours: jobu.cron_dispatch.run_tick (due jobs only, 2,000 per chunk, four statements per chunk,
messages sent while the next chunk is written). The seed's: read every enabled job, ask croniter
whether each is due, and for each due job one transaction (move it on, insert its run) and one
SendMessage. Both send to the same SQS: LocalStack by default (started by scripts/localstack.sh),
`--sqs none` for the database alone. Printed per backend: jobs, due, our tick, the ticks it took
(`ticks N`: at most 50 s each, a Lambda invocation's), the seed's time, the tick's messages sent
alone to the same SQS (the floor of its sending), and ours with 10,000 jobs and 1,000 due (the tick
grows with due jobs, not total jobs). Each measurement has a database and a queue of its own,
removed at the end.

    .venv/bin/python bench/cron_tick.py [--backends postgres,mysql,sqlite] [--jobs 100000]
        [--due 1000,10000] [--sqs localstack|none]

Last line: `ratio X` = the seed's time / ours, at 100,000 jobs and 10,000 due on PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from croniter import croniter

from bench.scratch_database import fresh_database
from bench.table import figure
from jobu.config import RetryPolicy, SweepPolicy
from jobu.cron_dispatch import run_tick
from jobu.models import CronJob
from jobu.observability import logger, metrics
from jobu.store import JobStore, open_store
from jobu.work_queue import QueuedRun, WorkQueue

REPO = Path(__file__).resolve().parents[1]
LOCALSTACK = "http://127.0.0.1:4566"
TICK = datetime.now(UTC).replace(second=30, microsecond=0)
POLICY = SweepPolicy(grace=timedelta(seconds=60), stuck_after=timedelta(minutes=15))
RETRY = RetryPolicy(base=timedelta(seconds=10), max=timedelta(seconds=900))
INVOCATION_SECONDS = 50.0  # the template's cron dispatcher Timeout


class NoSQS:
    """--sqs none: every send succeeds at once, so the figures are the database's."""

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        return {"Successful": [{"Id": entry["Id"]} for entry in Entries], "Failed": []}

    def send_message(self, QueueUrl: str, MessageBody: str) -> dict[str, Any]:
        return {}


async def seed_jobs(store: JobStore, jobs: int, due: int) -> None:
    """`jobs` enabled jobs, `due` of them due at TICK (every minute), the others tomorrow at midnight."""
    t, j = store.connector.encode_time, store.connector.encode_json
    soon, later = TICK - timedelta(seconds=30), (TICK + timedelta(days=1)).replace(hour=0, minute=0, second=0)
    rows = [
        (
            f"job-{i:06d}",
            "",
            "* * * * *" if i < due else "0 0 * * *",
            "sample",
            j({"i": i}),
            True,
            "UTC",
            t(soon if i < due else later),
            t(TICK),
            t(TICK),
        )
        for i in range(jobs)
    ]
    columns = (
        "name, description, cron_expression, handler_name, handler_params, is_enabled, timezone, "
        "next_run_at, created_at, updated_at"
    )
    async with store.connector.transaction() as conn:
        if store.backend == "postgres":
            placeholders = ", ".join(f"${n}" for n in range(1, 11))
            await conn.executemany(f"INSERT INTO cron_jobs ({columns}) VALUES ({placeholders})", rows)
        elif store.backend == "mysql":
            async with conn.cursor() as cursor:
                await cursor.executemany(
                    f"INSERT INTO cron_jobs ({columns}) VALUES ({', '.join(['%s'] * 10)})", rows
                )
        else:
            await conn.executemany(
                f"INSERT INTO cron_jobs ({columns}) VALUES ({', '.join(['?'] * 10)})", rows
            )
    if store.backend != "sqlite":
        async with store.connector.connection() as conn:  # fresh statistics, as a live table has
            if store.backend == "postgres":
                await conn.execute("ANALYZE cron_jobs")
            else:
                async with conn.cursor() as cursor:
                    await cursor.execute("ANALYZE TABLE cron_jobs")
                    await cursor.fetchall()


async def ours(store: JobStore, queue: WorkQueue) -> tuple[float, int, int]:
    """Seconds, ticks (invocations of INVOCATION_SECONDS each) and runs dispatched."""
    started, ticks, dispatched = time.perf_counter(), 0, 0
    more = True
    while more:
        ticks += 1
        deadline = time.monotonic() + INVOCATION_SECONDS
        report = await run_tick(
            store,
            queue,
            tick_time=TICK,
            now=TICK,
            policy=POLICY,
            retry_policy=RETRY,
            time_left=lambda deadline=deadline: deadline - time.monotonic(),  # type: ignore[misc]
        )
        metrics.clear_metrics()
        dispatched += len(report.dispatched)
        more = report.more_due
    return time.perf_counter() - started, ticks, dispatched


async def seed_approach(store: JobStore, queue: WorkQueue) -> tuple[float, int]:
    """The seed's tick: every job read, croniter per job, a transaction and a SendMessage per due job."""
    started, dispatched = time.perf_counter(), 0
    for job in await store.cron_jobs.page(is_enabled=None, limit=10_000, offset=0):
        if not job.is_enabled or job.next_run_at is None:
            continue
        latest = croniter(job.cron_expression, TICK).get_prev(datetime)
        if latest < job.next_run_at:
            continue
        following = croniter(job.cron_expression, TICK).get_next(datetime)
        async with store.connector.transaction() as conn:
            await _seed_statements(store, conn, job, latest, following)
        body = json.dumps({"execution_id": job.id, "attempt": 0})
        await asyncio.to_thread(queue._sqs.send_message, QueueUrl=queue.queue_url, MessageBody=body)
        dispatched += 1
    return time.perf_counter() - started, dispatched


async def _seed_statements(
    store: JobStore, conn: Any, job: CronJob, slot: datetime, following: datetime
) -> None:
    t, queries = store.connector.encode_time, store.connector.queries(Path(__file__).with_name("sql"))
    await queries.seed_advance_cron_job(conn, id=job.id, next_run_at=t(following), now=t(TICK))
    await queries.seed_insert_cron_run(
        conn, job_id=job.id, handler_name=job.handler_name, scheduled_time=t(slot), now=t(TICK)
    )


@contextmanager
def fresh_queue(sqs: Any) -> Iterator[WorkQueue]:
    """A work queue of this measurement's own, deleted afterwards (LocalStack keeps what it is sent)."""
    if not hasattr(sqs, "create_queue"):
        yield WorkQueue(sqs_client=sqs, queue_url="none")
        return
    url = sqs.create_queue(QueueName=f"bench-tick-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    try:
        yield WorkQueue(sqs_client=sqs, queue_url=url)
    finally:
        sqs.delete_queue(QueueUrl=url)


async def sends_alone(queue: WorkQueue, due: int) -> float:
    """The floor of a tick's sending: its messages sent alone, as the tick sends them."""
    started = time.perf_counter()
    report = await queue.send([QueuedRun(execution_id, 0) for execution_id in range(1, due + 1)])
    assert len(report.sent) == due, report.failed
    return time.perf_counter() - started


async def measure(backend: str, jobs: int, due: int, sqs: Any) -> dict[str, Any]:
    figures: dict[str, Any] = {"backend": backend, "jobs": jobs, "due": due}
    for name in ("ours", "seed"):
        async with fresh_database(backend, "tick") as url:
            store = await open_store(url)
            try:
                await store.migrate()
                await seed_jobs(store, jobs, due)
                with fresh_queue(sqs) as queue:
                    if name == "ours":
                        figures["ours"], figures["ticks"], figures["dispatched"] = await ours(store, queue)
                    else:
                        figures["seed"], figures["seed_dispatched"] = await seed_approach(store, queue)
            finally:
                await store.close()
    with fresh_queue(sqs) as queue:
        figures["sends"] = await sends_alone(queue, due)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backends", default="postgres,mysql,sqlite")
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--due", default="1000,10000")
    parser.add_argument("--sqs", choices=["localstack", "none"], default="localstack")
    args = parser.parse_args()
    logger.setLevel("WARNING")
    if args.sqs == "localstack":
        subprocess.run([str(REPO / "scripts" / "localstack.sh")], check=True, stdout=subprocess.DEVNULL)
        sqs: Any = boto3.client(
            "sqs",
            endpoint_url=LOCALSTACK,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
    else:
        sqs = NoSQS()
    rows = []
    for backend in args.backends.split(","):
        for due in (int(d) for d in args.due.split(",")):
            rows.append(asyncio.run(measure(backend, args.jobs, due, sqs)))
            row = rows[-1]
            print(
                f"{backend:8} jobs {row['jobs']:>7,} due {due:>6,}: ours {row['ours']:6.2f} s in "
                f"{row['ticks']} tick(s), {row['dispatched']:,} runs | seed {row['seed']:7.2f} s | "
                f"{row['seed'] / row['ours']:5.1f}x | its {due:,} messages sent alone {row['sends']:5.2f} s",
                flush=True,
            )
            figure(
                f"cron tick, {backend}, {row['jobs']:,} jobs, {due:,} due",
                f"{row['ours']:.2f} s, {row['ticks']} tick(s)",
                f"seed's select-all + croniter + a transaction per job: {row['seed']:.2f} s; "
                f"the messages sent alone: {row['sends']:.2f} s",
                f"{row['seed'] / row['ours']:.1f}x",
                "10,000 due in one tick under 2 s (PostgreSQL)" if due >= 10_000 else "",
            )
        small = asyncio.run(measure(backend, 10_000, 1_000, sqs))
        print(
            f"{backend:8} jobs {10_000:>7,} due {1_000:>6,}: ours {small['ours']:6.2f} s "
            "(the tick grows with due jobs, not total jobs)",
            flush=True,
        )
        figure(f"cron tick, {backend}, 10,000 jobs, 1,000 due", f"{small['ours']:.2f} s", "", "", "")
    reference = next(
        (
            r
            for r in rows
            if r["backend"] == "postgres"
            and r["jobs"] == args.jobs
            and r["due"] == max(int(d) for d in args.due.split(","))
        ),
        rows[-1],
    )
    print(f"ticks {reference['ticks']}")
    print(f"ratio {reference['seed'] / reference['ours']:.1f}")


if __name__ == "__main__":
    main()
