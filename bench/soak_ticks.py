"""The soak's contention phase: the cron tick under contention, minute after minute of a travelled
clock, on a private PostgreSQL or MariaDB server that it restarts.

Each "container" is a warm Lambda container of the cron dispatcher: a thread with its own event
loop and its own pool (jobu.cron_dispatch.run_tick, as the entry point runs it), kept across
ticks. For each minute of the clock, from fixed seeds:
- the minute's tick, and sometimes a second container ticking the same minute at once (a
  duplicate delivery);
- a slow tick: its chunks hold their job rows a while (it plans slowly inside the transaction);
- a tick cut short after its first chunk, whose continuation runs beside the next minute's tick;
- another transaction holding some job rows across the tick (a worker promoting a run, an admin
  update), released after a moment;
- a database restart between two ticks (the containers' pools keep their dead connections).

Every job runs every minute. At the end, from the database: every job has exactly one run for
every minute ticked, and none for any other; every run's message was sent; no tick failed.

    .venv/bin/python bench/soak_ticks.py --backend postgres [--jobs 400 --minutes 20 --seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncmy
import asyncpg

from jobu import cron_dispatch
from jobu.config import RetryPolicy, SweepPolicy
from jobu.cron_dispatch import TickReport, run_tick
from jobu.models import DueCronJob
from jobu.observability import metrics
from jobu.store import JobStore, open_store
from jobu.store.mysql import connect_kwargs
from jobu.work_queue import WorkQueue

POLICY = SweepPolicy(grace=timedelta(seconds=60), stuck_after=timedelta(minutes=15))
RETRY = RetryPolicy(base=timedelta(seconds=10), max=timedelta(seconds=900))
START = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)
# chunks small enough that a tick of a few hundred jobs has several, so ticks interleave
CHUNK_SIZE = 100


@dataclass
class ContentionFaults:
    duplicate_tick: float = 0.3
    slow_tick: float = 0.25
    continuation: float = 0.25
    held_rows: float = 0.4
    restarts: int = 2


@dataclass
class Tally:
    ticks: int = 0
    failed: list[str] = field(default_factory=list)
    duplicates: int = 0
    slow: int = 0
    continuations: int = 0
    holds: int = 0
    restarts: int = 0


class SQS:
    """Every send succeeds; the soak checks the database, where each sent run is marked queued."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.messages = 0

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        with self._lock:
            self.messages += len(Entries)
        return {"Successful": [{"Id": entry["Id"]} for entry in Entries], "Failed": []}


class Container:
    """A warm cron dispatcher container: its own thread, loop and pool, across ticks."""

    def __init__(self, url: str, queue: WorkQueue) -> None:
        self.queue = queue
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.store: JobStore = self.call(open_store(url, max_connections=4)).result()
        self.slow = False
        dispatch_due = self.store.cron_jobs.dispatch_due

        async def sluggish(**kwargs: Any) -> Any:
            plan = kwargs["plan"]
            if self.slow:  # inside the chunk's transaction, its rows locked

                def slowly(job: DueCronJob) -> Any:
                    time.sleep(0.002)
                    return plan(job)

                kwargs = {**kwargs, "plan": slowly}
            return await dispatch_due(**kwargs)

        self.store.cron_jobs.dispatch_due = sluggish  # type: ignore[method-assign]

    def call[T](self, work: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(work, self.loop)

    def tick(self, at: datetime, *, now: datetime, cut_short: bool = False) -> Future[TickReport]:
        async def ticking() -> TickReport:
            report = await run_tick(
                self.store,
                self.queue,
                tick_time=at,
                now=now,
                policy=POLICY,
                retry_policy=RETRY,
                time_left=(lambda: 0.0) if cut_short else (lambda: 600.0),
            )
            metrics.clear_metrics()
            return report

        return self.call(ticking())

    def close(self) -> None:
        self.call(self.store.close()).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


def hold_rows(url: str, ids: list[int], seconds: float, locked: threading.Event) -> None:
    """Another transaction: lock the job rows `ids`, keep them `seconds`, commit."""
    statement = f"SELECT id FROM cron_jobs WHERE id IN ({', '.join(map(str, ids))}) ORDER BY id FOR UPDATE"

    async def hold() -> None:
        if url.startswith("postgres"):
            conn = await asyncpg.connect(url)
            try:
                async with conn.transaction():
                    await conn.fetch(statement)
                    locked.set()
                    await asyncio.sleep(seconds)
            finally:
                await conn.close()
        else:
            my = await asyncmy.connect(**connect_kwargs(url), autocommit=False)
            try:
                async with my.cursor() as cursor:
                    await cursor.execute(statement)
                    await cursor.fetchall()
                locked.set()
                await asyncio.sleep(seconds)
                await my.commit()
            finally:
                my.close()

    try:
        asyncio.run(hold())
    finally:
        locked.set()


@contextmanager
def private_server(backend: str) -> Iterator[tuple[str, Callable[[], None]]]:
    if backend == "postgres":
        from tests.support.private_postgres import PrivatePostgres

        with PrivatePostgres() as postgres:
            postgres.psql("CREATE DATABASE ticks")
            yield postgres.url("ticks"), postgres.restart
    else:
        from tests.support.private_mariadb import PrivateMariaDB

        with PrivateMariaDB() as mariadb:
            mariadb.sql("CREATE DATABASE ticks")
            mariadb.sql("CREATE USER 'soak'@'%' IDENTIFIED BY 'soak-ticks'")
            mariadb.sql("GRANT ALL ON ticks.* TO 'soak'@'%'")
            yield mariadb.url("soak", "soak-ticks", "ticks"), mariadb.restart


async def seed_jobs(url: str, jobs: int) -> list[int]:
    store = await open_store(url)
    try:
        await store.migrate()
        t = store.connector.encode_time
        rows = [
            (f"tick-{i:05d}", "", "* * * * *", "sample", json.dumps({"i": i}), t(START), t(START - MINUTE))
            for i in range(jobs)
        ]
        columns = (
            "name, description, cron_expression, handler_name, handler_params, next_run_at, created_at,"
            " updated_at"
        )
        async with store.connector.transaction() as conn:
            if store.backend == "postgres":
                await conn.executemany(
                    f"INSERT INTO cron_jobs ({columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)", rows
                )
            else:
                async with conn.cursor() as cursor:
                    await cursor.executemany(
                        f"INSERT INTO cron_jobs ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                        [(*row, row[-1]) for row in rows],
                    )
        return sorted(job.id for job in await store.cron_jobs.page(is_enabled=None, limit=jobs, offset=0))
    finally:
        await store.close()


async def slots_and_unsent(url: str) -> tuple[Counter[tuple[int, datetime]], int]:
    store = await open_store(url)
    try:
        counts: Counter[tuple[int, datetime]] = Counter()
        offset = 0
        everything: dict[str, Any] = dict.fromkeys(
            ("job_id", "statuses", "handler_name", "from_date", "to_date")
        )
        while page := await store.runs.page(limit=5000, offset=offset, **everything):
            counts.update((r.job_id, r.scheduled_time) for r in page if r.job_id and r.scheduled_time)
            offset += len(page)
        unsent = await store.runs.unqueued(cutoff=datetime(2100, 1, 1, tzinfo=UTC), limit=100_000)
        return counts, len(unsent)
    finally:
        await store.close()


class Phase:
    """The minutes of one run: the containers, the faults drawn for each minute, the tally."""

    def __init__(
        self, url: str, restart: Callable[[], None], ids: list[int], *, minutes: int, seed: int
    ) -> None:
        self.url, self.restart, self.ids, self.minutes = url, restart, ids, minutes
        self.faults, self.tally = ContentionFaults(), Tally()
        self.rng = random.Random(seed)
        self.restart_at = {
            minutes * (i + 1) // (self.faults.restarts + 1) for i in range(self.faults.restarts)
        }
        queue = WorkQueue(sqs_client=SQS(), queue_url="https://sqs.soak/ticks")  # type: ignore[arg-type]
        self.first, self.second, self.third = (Container(url, queue) for _ in range(3))
        self.continuation: datetime | None = None  # a minute cut short, continued beside the next

    def play(self) -> None:
        for minute in range(self.minutes):
            holder = self._hold_some_rows()
            self._tick_minute(START + minute * MINUTE)
            if holder is not None:
                holder.join(timeout=60)
            if minute in self.restart_at:
                self.restart()  # between two ticks: every container's pool holds dead connections
                self.tally.restarts += 1
        # the last continuation, and a late duplicate of the last minute's tick, its clock past the
        # grace: its sweeper re-sends whatever a restart cut off
        last = START + (self.minutes - 1) * MINUTE
        futures = [(f"final {last:%H:%M}", self.first.tick(last, now=last + 3 * MINUTE))]
        if self.continuation is not None:
            late = self.continuation
            futures.append((f"continuation {late:%H:%M}", self.third.tick(late, now=last)))
        self._settle(futures)
        for container in (self.first, self.second, self.third):
            container.close()

    def _hold_some_rows(self) -> threading.Thread | None:
        if self.rng.random() >= self.faults.held_rows:
            return None
        locked = threading.Event()
        busy = self.rng.sample(self.ids, max(1, len(self.ids) // 20))
        seconds = self.rng.uniform(0.2, 1.5)
        holder = threading.Thread(target=hold_rows, args=(self.url, busy, seconds, locked), daemon=True)
        holder.start()
        locked.wait(timeout=30)
        self.tally.holds += 1
        return holder

    def _tick_minute(self, at: datetime) -> None:
        rng, faults, tally = self.rng, self.faults, self.tally
        self.first.slow = rng.random() < faults.slow_tick
        tally.slow += self.first.slow
        cut_short = rng.random() < faults.continuation
        futures = [(f"tick {at:%H:%M}", self.first.tick(at, now=at + 20 * SECOND, cut_short=cut_short))]
        if rng.random() < faults.duplicate_tick:
            futures.append((f"duplicate {at:%H:%M}", self.second.tick(at, now=at + 21 * SECOND)))
            tally.duplicates += 1
        if self.continuation is not None:  # the previous minute's, beside this one's
            late, self.continuation = self.continuation, None
            futures.append((f"continuation {late:%H:%M}", self.third.tick(late, now=at + 5 * SECOND)))
            tally.continuations += 1
        reports = self._settle(futures)
        if cut_short and reports and reports[0].more_due:
            self.continuation = at
        self.first.slow = False

    def _settle(self, futures: list[tuple[str, Future[TickReport]]]) -> list[TickReport]:
        reports = []
        for name, future in futures:
            self.tally.ticks += 1
            try:
                report = future.result(timeout=300)
            except Exception as error:  # a tick that fails is a violation: recorded, the soak goes on
                self.tally.failed.append(f"{name}: {type(error).__name__}: {error}")
                continue
            reports.append(report)
            if report.failed:  # a part of the tick raised (logged and isolated): a failure too
                self.tally.failed.append(f"{name}: its parts {report.failed} failed")
        return reports


def violations_of(
    ids: list[int], minutes: int, counts: Counter[tuple[int, datetime]], unsent: int, tally: Tally
) -> list[str]:
    expected = {(job_id, START + m * MINUTE) for job_id in ids for m in range(minutes)}
    missing = expected - set(counts)
    doubled = [slot for slot, n in counts.items() if n > 1]
    strays = set(counts) - expected
    print(f"ticks                {tally.ticks} ({tally.duplicates} duplicate, {tally.slow} slow, "
          f"{tally.continuations} continuations beside the next minute, "
          f"{len(tally.failed)} failed)")  # fmt: skip
    print(f"held job rows        {tally.holds} times; database restarts {tally.restarts}")
    print(f"slots                {len(expected)} due, {sum(counts.values())} runs, {len(missing)} missing, "
          f"{len(doubled)} doubled, {len(strays)} never due; {unsent} unsent")  # fmt: skip
    violations = [f"tick failed: {failure}" for failure in tally.failed]
    if missing:
        violations.append(f"{len(missing)} due slots have no run (e.g. {sorted(missing)[:3]})")
    if doubled:
        violations.append(f"{len(doubled)} slots have more than one run (e.g. {doubled[:3]})")
    if strays:
        violations.append(f"{len(strays)} runs for slots that were never due (e.g. {sorted(strays)[:3]})")
    if unsent:
        violations.append(f"{unsent} runs whose message was never sent")
    return violations


def run_contention(backend: str, *, jobs: int, minutes: int, seed: int) -> list[str]:
    """Play the minutes; print the figures; return the violations."""
    logging.getLogger("asyncpg").setLevel(logging.CRITICAL)  # its pools' reconnect attempts mid-restart
    chunk_size, cron_dispatch.CHUNK_SIZE = cron_dispatch.CHUNK_SIZE, CHUNK_SIZE
    started = time.monotonic()
    try:
        with private_server(backend) as (url, restart):
            ids = asyncio.run(seed_jobs(url, jobs))
            phase = Phase(url, restart, ids, minutes=minutes, seed=seed)
            phase.play()
            counts, unsent = asyncio.run(slots_and_unsent(url))
    finally:
        cron_dispatch.CHUNK_SIZE = chunk_size
    print(f"== tick contention on {backend}: seed {seed}, {jobs} every-minute jobs, {minutes} minutes, "
          f"{time.monotonic() - started:.1f} s")  # fmt: skip
    return violations_of(ids, minutes, counts, unsent, phase.tally)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["postgres", "mysql"], default="postgres")
    parser.add_argument("--jobs", type=int, default=400)
    parser.add_argument("--minutes", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    violations = run_contention(args.backend, jobs=args.jobs, minutes=args.minutes, seed=args.seed)
    for violation in violations:
        print(f"VIOLATION: {violation}")
    print(f"violations {len(violations)}")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
