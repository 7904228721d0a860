"""The soak's operator phase: operator actions racing ticks, workers and one another, on PostgreSQL
and MariaDB.

Each actor is a warm container: a thread with its own event loop and its own pool, so every action
is a separate connection, as two Lambda containers are. The cron dispatcher ticks minute after
minute of a travelled clock (its sweeper and its retention on the real clock, keeping finished runs
three seconds); a worker runs every PENDING run through jobu.worker; and one operator per action,
from fixed seeds, all at once: updates of the description (one operator) and of max_retry
(another), two togglers, run now, deletes (queue_one jobs included), retries one by one and in
bulk, cancels, two identical backfills, and
replays and discards of rejected records. Half the jobs fail (`sample1` without a name).

At the end, from the database and the answers: no tick failed, nor any part of one; no run is
WAITING without its job; every attempt a retry reported was run by the worker (retention did not
delete it first) and was reported by one retry only; each job still there holds the last
description and max_retry its one writer wrote, and is enabled as its initial state and the number
of its toggles say; each backfilled slot has one run, created and reported once; a discarded
record never comes back.

    .venv/bin/python bench/soak_operators.py --backend postgres [--minutes 30 --jobs 24 --seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import random
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "CRITICAL")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")

import asyncmy
import asyncpg

from jobu.config import RetryPolicy, SweepPolicy
from jobu.cron_dispatch import run_tick
from jobu.errors import InvalidStateError, NotFoundError
from jobu.handler_manifest import manifest_pools
from jobu.models import ExecutionStatus, WorkMessage
from jobu.observability import metrics
from jobu.operations import cron_jobs, rejected_records, runs
from jobu.operations.audit import Actor
from jobu.store import JobStore, open_store
from jobu.work_queue import WorkQueue
from jobu.worker import Worker

POLICY = SweepPolicy(grace=timedelta(seconds=60), stuck_after=timedelta(minutes=15))
RETRY = RetryPolicy(base=timedelta(seconds=1), max=timedelta(seconds=2))
RETENTION = timedelta(seconds=3)
MINUTE = timedelta(minutes=1)
ACTOR = Actor("soak-operator")
KNOWN = frozenset({"sample", "sample1"})
TIMEOUTS = dict.fromkeys(manifest_pools(), 900)
EXPECTED = (NotFoundError, InvalidStateError)  # a job or run another actor changed first


class SQS:
    """Every send succeeds (the soak checks the database)."""

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        return {"Successful": [{"Id": entry["Id"]} for entry in Entries], "Failed": []}


QUEUE = WorkQueue(sqs_client=SQS(), queue_url="soak-operators")  # type: ignore[arg-type]


class Container:
    """A warm container: its own thread, event loop and pool."""

    def __init__(self, url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.store: JobStore = self.call(open_store(url, max_connections=2))

    def call[T](self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout=120)

    def close(self) -> None:
        self.call(self.store.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


@dataclass
class Record:
    """What the actors did and were answered."""

    failed_ticks: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    actions: Counter[str] = field(default_factory=Counter)
    description: dict[int, str] = field(default_factory=dict)
    max_retry: dict[int, int] = field(default_factory=dict)
    toggles: Counter[int] = field(default_factory=Counter)
    deleted: set[int] = field(default_factory=set)
    retried: list[tuple[int, int]] = field(default_factory=list)
    cancelled: set[int] = field(default_factory=set)
    ran: set[tuple[int, int]] = field(default_factory=set)
    backfilled: list[int] = field(default_factory=list)  # the runs each backfill said it created
    discarded: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


async def prepare(store: JobStore, jobs: int, start: datetime) -> tuple[list[int], list[int]]:
    """The jobs (every minute from `start`; half fail, a third queue_one) and rejected records."""
    await store.migrate()
    made = []
    for index in range(jobs):
        spec = cron_jobs.parse_spec(
            {
                "name": f"soak-op-{index}",
                "cron_expression": "* * * * *",
                "handler_name": "sample1" if index % 2 else "sample",  # sample1 without a name fails
                "overlap_policy": ("allow", "skip", "queue_one")[index % 3],
                "max_retry": 0,
            }
        )
        job = await cron_jobs.create(
            store, spec, known_handlers=KNOWN, worker_timeouts=TIMEOUTS, now=start - MINUTE / 2, actor=ACTOR
        )
        made.append(job.id)
    records = [
        {
            "source_topic": "soak-operators",
            "source_partition": 0,
            "source_offset": offset,
            "record_key": f"soak-operators:0:{offset}",
            "raw_value": '{"handler_name": "not-deployed"}',
            "raw_encoding": "utf-8",
            "reason": "unknown handler",
        }
        for offset in range(jobs)
    ]
    await store.rejected_records.insert(records, now=start)
    page = await store.rejected_records.page(limit=1000, offset=0)
    return made, [record.id for record in page]


def loop_until(
    stop: threading.Event,
    record: Record,
    name: str,
    act: Callable[[], Coroutine[Any, Any, None]],
    box: Container,
) -> None:
    """Do `act` again and again on `box` until stopped; an error it did not expect is a violation."""
    while not stop.is_set():
        try:
            box.call(act())
            with record.lock:
                record.actions[name] += 1
        except EXPECTED:
            with record.lock:
                record.actions[f"{name} refused"] += 1
        except Exception as error:  # anything else is what the soak looks for
            with record.lock:
                record.unexpected.append(f"{name}: {type(error).__name__}: {error}")
        time.sleep(0.005)


class Operators:
    """One operator per action (`ACTIONS`), each on its own container with its own seeded
    generator; what each was answered goes to the record."""

    ACTIONS = (
        "update description", "update max_retry", "toggle", "toggle again", "run now", "delete",
        "retry", "bulk retry", "cancel", "backfill a", "backfill b", "replay", "discard",
    )  # fmt: skip

    def __init__(
        self, record: Record, job_ids: list[int], rejected_ids: list[int], start: datetime, seed: int
    ):
        self.record, self.job_ids, self.rejected_ids, self.start, self.seed = (
            record,
            job_ids,
            rejected_ids,
            start,
            seed,
        )
        queue_one = [job_id for index, job_id in enumerate(job_ids) if index % 3 == 2]
        self.doomed = random.Random(seed).sample(queue_one, max(1, len(queue_one) // 3))
        self.count: Counter[str] = Counter()

    def run(self, name: str, box: Container, stop: threading.Event) -> None:
        rng = random.Random(f"{self.seed}-{name}")
        method = (
            name.split(maxsplit=1)[0] if name.startswith(("toggle", "backfill")) else name.replace(" ", "_")
        )
        act = getattr(self, method)
        loop_until(stop, self.record, name, lambda: act(box, rng, name), box)

    async def update_description(self, box: Container, rng: random.Random, name: str) -> None:
        self.count[name] += 1
        job_id, value = rng.choice(self.job_ids), f"d{self.count[name]}"
        await self._update(box, job_id, cron_jobs.CronJobUpdate(description=value))
        self.record.description[job_id] = value

    async def update_max_retry(self, box: Container, rng: random.Random, name: str) -> None:
        job_id, value = rng.choice(self.job_ids), rng.randrange(0, 3)
        await self._update(box, job_id, cron_jobs.CronJobUpdate(max_retry=value))
        self.record.max_retry[job_id] = value

    async def _update(self, box: Container, job_id: int, update: cron_jobs.CronJobUpdate) -> None:
        now = datetime.now(UTC)
        await cron_jobs.update(
            box.store, job_id, update, known_handlers=KNOWN, worker_timeouts=TIMEOUTS, now=now, actor=ACTOR
        )

    async def toggle(self, box: Container, rng: random.Random, name: str) -> None:
        job_id = rng.choice(self.job_ids)
        await cron_jobs.toggle(box.store, job_id, now=datetime.now(UTC), actor=ACTOR)
        with self.record.lock:
            self.record.toggles[job_id] += 1

    async def run_now(self, box: Container, rng: random.Random, name: str) -> None:
        request, job_id = cron_jobs.RunNowRequest(), rng.choice(self.job_ids)
        now = datetime.now(UTC)
        await cron_jobs.run_now(box.store, QUEUE, job_id, request, known_handlers=KNOWN, now=now, actor=ACTOR)

    async def delete(self, box: Container, rng: random.Random, name: str) -> None:
        await asyncio.sleep(0.2)  # a few, spread over the phase
        if self.doomed:
            job_id = self.doomed.pop()
            await cron_jobs.delete(box.store, job_id, now=datetime.now(UTC), actor=ACTOR)
            with self.record.lock:
                self.record.deleted.add(job_id)

    async def retry(self, box: Container, rng: random.Random, name: str) -> None:
        failed = await box.store.runs.list_recent(status=ExecutionStatus.FAILED, limit=50)
        if failed:
            run_id = rng.choice(failed).id
            answer = await runs.retry(box.store, QUEUE, run_id, now=datetime.now(UTC), actor=ACTOR)
            with self.record.lock:
                self.record.retried.append((answer.run.id, answer.run.retry_count))

    async def bulk_retry(self, box: Container, rng: random.Random, name: str) -> None:
        request = runs.BulkRetryRequest(dry_run=False, limit=rng.randrange(1, 20))
        answer = await runs.bulk_retry(box.store, QUEUE, request, now=datetime.now(UTC), actor=ACTOR)
        retried = await asyncio.gather(*(box.store.runs.get(run_id) for run_id in answer.ids))
        with self.record.lock:  # the attempt each is at now: the one retried, or a later one
            self.record.retried += [(run.id, run.retry_count) for run in retried if run is not None]

    async def cancel(self, box: Container, rng: random.Random, name: str) -> None:
        active = await box.store.runs.list_recent(status=ExecutionStatus.PENDING, limit=50)
        if active and rng.random() < 0.1:  # now and then: most runs should get to run
            run_id = rng.choice(active).id
            answer = await runs.cancel(box.store, QUEUE, run_id, now=datetime.now(UTC), actor=ACTOR)
            with self.record.lock:
                self.record.cancelled.add(answer.run_id)

    async def backfill(self, box: Container, rng: random.Random, name: str) -> None:
        # both backfillers ask for the same windows in the same order
        self.count[name] += 1
        first = self.start - timedelta(hours=self.count[name])
        request = cron_jobs.BackfillRequest(start=first, end=first + 4 * MINUTE, dry_run=False)
        now = datetime.now(UTC)
        answer = await cron_jobs.backfill(box.store, QUEUE, self.job_ids[0], request, now=now, actor=ACTOR)
        with self.record.lock:
            self.record.backfilled += [
                slot.run_id for slot in answer.slots if not slot.existed and slot.run_id
            ]

    async def replay(self, box: Container, rng: random.Random, name: str) -> None:
        record_id, now = rng.choice(self.rejected_ids), datetime.now(UTC)
        await rejected_records.replay(box.store, QUEUE, record_id, known_handlers=KNOWN, now=now, actor=ACTOR)

    async def discard(self, box: Container, rng: random.Random, name: str) -> None:
        record_id = rng.choice(self.rejected_ids)
        found = await box.store.rejected_records.get(record_id)
        await rejected_records.discard(box.store, record_id, now=datetime.now(UTC), actor=ACTOR)
        if found is not None:
            with self.record.lock:
                self.record.discarded.add(found.record_key)


def ticker(box: Container, record: Record, start: datetime, minutes: int, stop: threading.Event) -> None:
    for minute in range(minutes):
        try:
            report = box.call(
                run_tick(
                    box.store,
                    QUEUE,
                    tick_time=start + minute * MINUTE,
                    now=datetime.now(UTC),
                    policy=POLICY,
                    retry_policy=RETRY,
                    retention=RETENTION,
                )
            )
            metrics.clear_metrics()
            if report.failed or report.sweep.failed:
                record.failed_ticks.append(
                    f"tick {minute}: parts failed {report.failed + report.sweep.failed}"
                )
        except Exception as error:
            record.failed_ticks.append(f"tick {minute}: {type(error).__name__}: {error}")
        time.sleep(0.25)
    stop.set()


async def work_once(store: JobStore, worker: Worker, record: Record) -> int:
    pending = await store.runs.list_recent(status=ExecutionStatus.PENDING, limit=100)
    for run in pending:
        await worker.process(WorkMessage(run.id, run.retry_count), remaining_seconds=60)
        with record.lock:
            record.ran.add((run.id, run.retry_count))
    return len(pending)


def working(box: Container, record: Record, stop: threading.Event) -> None:
    worker = box.call(_worker(box.store))
    while not stop.is_set():
        try:
            if not box.call(work_once(box.store, worker, record)):
                time.sleep(0.02)
        except Exception as error:
            record.unexpected.append(f"worker: {type(error).__name__}: {error}")
    while box.call(work_once(box.store, worker, record)):  # what is left, once the others stopped
        pass


async def _worker(store: JobStore) -> Worker:
    return Worker(store, QUEUE, RETRY)


async def check(store: JobStore, record: Record, job_ids: list[int]) -> list[str]:
    violations = list(record.failed_ticks) + record.unexpected
    orphans = [
        r.id
        for r in await store.runs.list_recent(status=ExecutionStatus.WAITING, limit=10_000)
        if r.job_id is None
    ]
    violations += [f"run {run_id} is WAITING without its job" for run_id in orphans]
    twice = [pair for pair, times in Counter(record.retried).items() if times > 1]
    violations += [f"run {run_id} attempt {attempt} reported by two retries" for run_id, attempt in twice]
    # the attempt read after the retry may be later than the one retried (the worker's own retry)
    lost = [
        (run_id, attempt)
        for run_id, attempt in set(record.retried)
        if run_id not in record.cancelled and not any(r == run_id and a >= attempt for r, a in record.ran)
    ]
    violations += [
        f"run {run_id} attempt {attempt} was retried and never ran (lost)" for run_id, attempt in lost
    ]
    for job_id in job_ids:
        job = await store.cron_jobs.get(job_id)
        if job_id in record.deleted:
            violations += [f"cron job {job_id} was deleted and is there"] if job is not None else []
            continue
        if job is None:
            violations.append(f"cron job {job_id} is gone, never deleted")
            continue
        if job_id in record.description and job.description != record.description[job_id]:
            written = record.description[job_id]
            violations.append(f"cron job {job_id}: description {job.description!r}, last written {written!r}")
        if job_id in record.max_retry and job.max_retry != record.max_retry[job_id]:
            violations.append(
                f"cron job {job_id}: max_retry {job.max_retry}, last written {record.max_retry[job_id]}"
            )
        if job.is_enabled != (record.toggles[job_id] % 2 == 0):
            violations.append(
                f"cron job {job_id}: enabled {job.is_enabled} after {record.toggles[job_id]} toggles"
            )
    twice_made = [run_id for run_id, times in Counter(record.backfilled).items() if times > 1]
    violations += [f"backfilled run {run_id} reported created by both backfills" for run_id in twice_made]
    back = [
        r.record_key
        for r in await store.rejected_records.list_recent(limit=10_000)
        if r.record_key in record.discarded
    ]
    violations += [f"discarded record {key} came back" for key in back]
    return violations


def run_operator_races(url: str, *, jobs: int = 24, minutes: int = 30, seed: int = 1) -> list[str]:
    """The phase on the database at `url` (migrated here); its violations."""
    start = datetime.now(UTC).replace(second=0, microsecond=0) - (minutes + 5) * MINUTE
    setup = Container(url)
    job_ids, rejected_ids = setup.call(prepare(setup.store, jobs, start))
    record, stop = Record(), threading.Event()
    actors = Operators(record, job_ids, rejected_ids, start, seed)
    boxes = {name: Container(url) for name in [*Operators.ACTIONS, "ticker", "worker"]}
    threads = [
        threading.Thread(target=actors.run, args=(name, boxes[name], stop)) for name in Operators.ACTIONS
    ]
    threads.append(threading.Thread(target=ticker, args=(boxes["ticker"], record, start, minutes, stop)))
    threads.append(threading.Thread(target=working, args=(boxes["worker"], record, stop)))
    with contextlib.redirect_stdout(io.StringIO()):  # the functions' metrics (EMF lines), not read here
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    violations = setup.call(check(setup.store, record, job_ids))
    for box in [*boxes.values(), setup]:
        box.close()
    actions = ", ".join(f"{name} {count}" for name, count in sorted(record.actions.items()))
    attempts = f"{len(record.retried)} retried attempts, {len(record.ran)} attempts run"
    print(f"operator races: {minutes} ticks, {attempts}; {actions}")
    return violations


async def _fresh_database(backend: str) -> tuple[str, Callable[[], Coroutine[Any, Any, None]]]:
    name = f"jobu_soak_ops_{uuid.uuid4().hex[:10]}"
    if backend == "postgres":
        admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()

        async def drop() -> None:
            conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.close()

        return f"postgresql://postgres@127.0.0.1:5432/{name}", drop
    conn = await asyncmy.connect(host="127.0.0.1", port=3306, user="root")
    async with conn.cursor() as cursor:
        await cursor.execute(f"CREATE DATABASE `{name}`")
    conn.close()

    async def drop_mysql() -> None:
        conn = await asyncmy.connect(host="127.0.0.1", port=3306, user="root")
        async with conn.cursor() as cursor:
            await cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()

    return f"mysql://root@127.0.0.1:3306/{name}", drop_mysql


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["postgres", "mysql"], required=True)
    parser.add_argument("--jobs", type=int, default=24)
    parser.add_argument("--minutes", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    url, drop = asyncio.run(_fresh_database(args.backend))
    try:
        violations = run_operator_races(url, jobs=args.jobs, minutes=args.minutes, seed=args.seed)
    finally:
        asyncio.run(drop())
    for violation in violations:
        print(f"VIOLATION: {violation}")
    print(f"violations {len(violations)}")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
