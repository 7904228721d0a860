"""Fault-injection soak: AWS's at-least-once delivery played against the real entry points, with
faults injected from fixed seeds, and every guarantee checked from the database at the end.

It plays:
- the Kafka event source mapping: batches of records (some hostile) to the queue dispatcher,
  some batches delivered twice, some with an offset repeated inside, a failed batch retried;
- the SQS event source mapping: several worker processes (bench/soak_worker.py) fed from
  LocalStack's SQS (visibility timeout, redrive to the dead-letter queue);
- EventBridge Scheduler: a tick every few seconds to the cron dispatcher (three cron jobs);
and injects: SendMessageBatch failures after the INSERT (dispatchers and workers), duplicate
SQS deliveries, workers killed with SIGKILL (some mid-run), a flaky transactional handler, and
on PostgreSQL an immediate (crash) restart of a private server it starts on a free port.
Meanwhile an API client makes batches of runs with completion callbacks (bench/soak_batches.py),
some cancelled, half with runs that retry: their runs meet the same faults, and at the end every
batch has ended, counts its runs' final statuses, and has each callback exactly once, made no
earlier than its last run ended.
Then, on PostgreSQL and MariaDB, the tick under contention (bench/soak_ticks.py): minute after
minute of a travelled clock over every-minute jobs, with duplicate and slow ticks, continuations
beside the next minute's tick, job rows held by another transaction, and restarts of a private
server between ticks; every due slot must have exactly one run and no tick may fail.

Then, on PostgreSQL and MariaDB, operator actions racing ticks, a worker and one another
(bench/soak_operators.py): updates, toggles, run now, deletes, retries one by one and in bulk,
cancels, backfills, replays and discards; no tick may fail, no retried run be lost, no update
or toggle lost, no run reported by two retries or two backfills, no discarded record come back.

At the end, from the database: each valid record has exactly one run, except that the records
carrying one idempotency key (a fifth of them, about ten a key) have exactly one run between them,
and the records carrying one debounce key (a tenth, about ten a key, all within one window) have
exactly one run between them, with the params of the key's last record;
with the limits on (soak_effect: at most 2 runs at once per concurrency key, its records spread over
a few keys; sample: a rate of 10 starts per 2 s with a burst of 3), no key ever had more runs
running at once than its limit (from the runs' started_at/finished_at), no run started before the
time its rate handed it over for, and those times and the runs' started_at keep the rate (over any
2 s, at most 10 + 3 - 1);
runs + rejected records + duplicates by key + debounced requests joined = records; nothing
WAITING, PENDING or RUNNING; FAILED or TIMEOUT only with retries exhausted; the DLQ empty; the
transactional handler's effect exactly once per SUCCESS and never otherwise.
It prints the counts and exits 1 on any violation; the last line is `violations N`.

    .venv/bin/python bench/soak.py --backend postgres --events 10000 [--seed 1] [--workers 4]
    .venv/bin/python bench/soak.py --short          # CI: a few hundred events on each backend
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import importlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncmy
import boto3

from tests.support.function_environment import function_environment

REPO = Path(__file__).resolve().parents[1]
SQL_DIR = Path(__file__).with_name("sql")
LOCALSTACK = "http://127.0.0.1:4566"
TOPIC = "soak-events"
PARTITIONS = 3
# The soak's sweeper: quick, so a short run sees repairs happen (the template: 60 s and 15 min).
GRACE_SECONDS, STUCK_SECONDS = 3, 45
# Work queue: a killed worker's message comes back after this long; SQS dead-letters after 5 receives.
VISIBILITY_SECONDS, MAX_RECEIVES = 8, 5
JOB_TIMEOUT_SECONDS, MAX_RETRY = 10, 3
# The limits the soak runs under (set as an operator would, before the first record): soak_effect's
# records carry one of LIMITED_KEYS concurrency keys.
PER_KEY_LIMITS = {"per_key_concurrency": 2}
RATE_LIMITS = {"rate": {"limit": 10, "period_seconds": 2, "burst": 3}}
LIMITED_KEYS = 3


@dataclass
class Faults:
    """What is injected, and how often. Every draw comes from one seeded generator per actor."""

    duplicate_batch: float = 0.10
    repeated_offset: float = 0.05
    bad_record: float = 0.08
    # records that carry an idempotency key (of a few keys each): one run per key, whatever arrives
    idempotency_key: float = 0.2
    # records that carry a debounce key (of a few keys each, one window long): one run per key, with
    # the params of the key's last record, whatever is redelivered
    debounce: float = 0.1
    send_failure: float = 0.05
    duplicate_send: float = 0.05
    handler_failure: float = 0.15
    linger_ms: int = 400
    kill_every_seconds: float = 4.0
    restart_database: bool = True


@dataclass
class Produced:
    valid: set[str] = field(default_factory=set)
    rejected: set[str] = field(default_factory=set)
    # the valid records with an idempotency key: record key -> (handler, idempotency key)
    keyed: dict[str, tuple[str, str]] = field(default_factory=dict)
    # the debounced records, in the order they were produced: record key -> (handler, debounce key,
    # params); the last record of a key gives its run's params
    debounced: dict[str, tuple[str, str, dict[str, Any]]] = field(default_factory=dict)
    deliveries: int = 0
    duplicate_deliveries: int = 0
    failed_deliveries: int = 0


# --- the database of the run ----------------------------------------------------------------------


@contextmanager
def database(backend: str, scratch: Path) -> Iterator[tuple[str, Callable[[], None] | None]]:
    """The soak's database URL, and how to crash-restart its server (PostgreSQL only)."""
    if backend == "postgres":
        from tests.support.private_postgres import PrivatePostgres

        with PrivatePostgres() as server:
            server.psql("CREATE DATABASE soak")
            yield server.url("soak"), lambda: server.restart("immediate")
    elif backend == "mysql":
        name = f"jobu_soak_{uuid.uuid4().hex[:10]}"
        asyncio.run(_mysql(f"CREATE DATABASE `{name}`"))
        try:
            yield f"mysql://root@127.0.0.1:3306/{name}", None
        finally:
            asyncio.run(_mysql(f"DROP DATABASE IF EXISTS `{name}`"))
    else:
        yield f"sqlite:///{scratch / 'soak.db'}", None


async def _mysql(statement: str) -> None:
    conn = await asyncmy.connect(host="127.0.0.1", port=3306, user="root")
    try:
        async with conn.cursor() as cursor:
            await cursor.execute(statement)
    finally:
        conn.close()


async def prepare(url: str) -> None:
    from jobu.handler_manifest import manifest_pools
    from jobu.limits import Limits
    from jobu.operations.audit import Actor
    from jobu.operations.cron_jobs import create as create_cron_job
    from jobu.operations.cron_jobs import parse_spec
    from jobu.store import open_store

    store = await open_store(url)
    try:
        await store.migrate()
        async with store.connector.transaction() as conn:
            for handler_name, limits in (("soak_effect", PER_KEY_LIMITS), ("sample", RATE_LIMITS)):
                await store.limits.set(
                    handler_name, Limits.parse(limits), now=datetime.now(UTC), updated_by="soak", conn=conn
                )
        async with store.connector.connection() as conn:
            await store.connector.queries(SQL_DIR).create_soak_effects(conn)
        for index in range(3):
            handler = "soak_effect" if index < 2 else "sample"
            spec = parse_spec(
                {
                    "name": f"soak-cron-{index}",
                    "cron_expression": "* * * * *",
                    "handler_name": handler,
                    "max_retry": MAX_RETRY,
                    "timeout_seconds": JOB_TIMEOUT_SECONDS,
                    "allow_overlap": index != 1,
                }
            )
            await create_cron_job(
                store,
                spec,
                known_handlers={"soak_effect", "sample"},
                worker_timeouts={pool: 900 for pool in manifest_pools()},
                now=datetime.now(UTC),
                actor=Actor("soak"),
            )
    finally:
        await store.close()


# --- AWS's parts ----------------------------------------------------------------------------------


def queues(sqs: Any, name: str) -> tuple[str, str]:
    dead = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": str(MAX_RECEIVES)})
    work = sqs.create_queue(
        QueueName=name,
        Attributes={"VisibilityTimeout": str(VISIBILITY_SECONDS), "RedrivePolicy": redrive},
    )["QueueUrl"]
    return work, dead


class ChaoticSQS:
    """A dispatcher's SQS client: SendMessageBatch fails now and then, or is sent twice."""

    def __init__(self, client: Any, faults: Faults, rng: random.Random) -> None:
        self._client, self._faults, self._rng = client, faults, rng
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def send_message_batch(self, **kwargs: Any) -> Any:
        with self._lock:
            fail, twice = self._rng.random() < self._faults.send_failure, self._rng.random()
        if fail:
            raise ConnectionError("soak: SendMessageBatch failed after the INSERT (injected)")
        response = self._client.send_message_batch(**kwargs)
        if twice < self._faults.duplicate_send:  # a duplicate delivery of each message
            self._client.send_message_batch(**kwargs)
        return response


class Context:
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:soak"

    def __init__(self, name: str) -> None:
        self.function_name = name
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def record_value(
    rng: random.Random, faults: Faults, seed: int, keys: int
) -> tuple[bytes | None, bool, tuple[str, str] | None]:
    """A record's value, whether it is a valid job message, and its (handler, idempotency key) if it
    has one: a key drawn from `keys`, so records of one key meet across batches and partitions."""
    if rng.random() < faults.bad_record:
        return (
            rng.choice(
                [
                    None,  # a tombstone
                    b"\xff\xfe not text",
                    b"{not json",
                    b'{"handler_name": "soak_effect", "params": {"name": "nul \\u0000"}}',
                    b'{"handler_name": "no_such_handler"}',
                    b'{"handler_name": "soak_effect", "params": ' + b"[" * 2000 + b"]" * 2000 + b"}",
                    b'{"handler_name": "sample", "idempotency_key": ""}',
                    b'{"handler_name": "sample", "tags": "not a list", "delay_seconds": -1}',
                ]
            ),
            False,
            None,
        )
    message: dict[str, Any] = {"handler_name": "sample", "params": {"name": "plain"}}
    if rng.random() < 0.8:
        params = {"seed": seed, "fail_rate": faults.handler_failure, "linger_ms": faults.linger_ms}
        key = f"tenant-{rng.randrange(LIMITED_KEYS)}"
        message = {"handler_name": "soak_effect", "params": params, "concurrency_key": key}
    if rng.random() >= faults.idempotency_key:
        return json.dumps(message).encode(), True, None
    key = f"key-{rng.randrange(keys)}"
    return json.dumps({**message, "idempotency_key": key}).encode(), True, (message["handler_name"], key)


def debounced_value(rng: random.Random, keys: int, record_key: str, window: int) -> tuple[bytes, str]:
    """A debounced request of one of `keys` keys (its params name the record, so the run's params
    say which request was the last), and its key."""
    key = f"debounce-{rng.randrange(keys)}"
    message = {
        "handler_name": "sample",
        "params": {"name": key, "value": record_key},
        "debounce": {"key": key, "seconds": window},
    }
    return json.dumps(message).encode(), key


def kafka_record(partition: int, offset: int, value: bytes | None) -> dict[str, Any]:
    return {
        "topic": TOPIC,
        "partition": partition,
        "offset": offset,
        "timestamp": int(time.time() * 1000),
        "timestampType": "CREATE_TIME",
        "key": None,
        "value": None if value is None else base64.b64encode(value).decode(),
        "headers": [],
    }


class Soak:
    def __init__(self, args: argparse.Namespace, url: str, restart: Callable[[], None] | None) -> None:
        self.args, self.url, self.restart = args, url, restart
        self.faults = Faults(restart_database=restart is not None)
        self.stop = threading.Event()
        self.produced = Produced()
        self.workers: list[subprocess.Popen[bytes]] = []
        self.kills = 0
        self.restarts = 0
        self.ticks = 0
        self.failed_ticks = 0

    # the Kafka mapping: batches in offset order per partition, redelivered until they succeed
    def produce(self, queue_app: Any) -> None:
        rng = random.Random(self.args.seed)
        offsets = [0] * PARTITIONS
        batches: list[list[dict[str, Any]]] = []
        made = 0
        keys = max(2, self.args.events // 50)  # about ten records a key
        debounce_keys = max(2, self.args.events // 100)
        # one window spans the whole production: every debounce key ends as one run
        window = int(self.args.produce_seconds) + 10
        # and no debounced record after half of it has gone: a production slower than planned (SQLite
        # on loaded cores took 50-75 s for 15) must not split a key's requests over two windows
        debounce_until = time.monotonic() + window / 2
        while made < self.args.events:
            partition = rng.randrange(PARTITIONS)
            batch = []
            largest = max(2, min(150, self.args.events // 30))
            for _ in range(min(rng.randint(1, largest), self.args.events - made)):
                key = f"{TOPIC}:{partition}:{offsets[partition]}"
                value: bytes | None
                if rng.random() < self.faults.debounce and time.monotonic() < debounce_until:
                    value, debounce_key = debounced_value(rng, debounce_keys, key, window)
                    params = {"name": debounce_key, "value": key}
                    self.produced.debounced[key] = ("sample", debounce_key, params)
                    valid = True
                else:
                    value, valid, idempotency = record_value(rng, self.faults, self.args.seed, keys)
                    if idempotency is not None:
                        self.produced.keyed[key] = idempotency
                (self.produced.valid if valid else self.produced.rejected).add(key)
                batch.append(kafka_record(partition, offsets[partition], value))
                offsets[partition] += 1
                made += 1
            if rng.random() < self.faults.repeated_offset:
                batch.append(rng.choice(batch))  # a rebalance redelivers an offset inside the batch
            batches.append(batch)
            # paced, so the batches meet workers at work, kills and the restart
            time.sleep(self.args.produce_seconds * len(batch) / self.args.events)
            self.deliver(queue_app, batch)
            if rng.random() < self.faults.duplicate_batch:
                self.deliver(queue_app, rng.choice(batches))
                self.produced.duplicate_deliveries += 1
            if self.restart is not None and self.restarts == 0 and made >= self.args.events // 3:
                self.restarts += 1
                self.restart()  # connections cut mid-flight everywhere; nothing may be lost

    def deliver(self, queue_app: Any, batch: list[dict[str, Any]]) -> None:
        grouped: dict[str, list[dict[str, Any]]] = {}
        for record in batch:
            grouped.setdefault(f"{TOPIC}-{record['partition']}", []).append(record)
        event = {"eventSource": "aws:kafka", "bootstrapServers": "soak", "records": grouped}
        while True:
            self.produced.deliveries += 1
            try:
                queue_app.handler(event, Context("soak-queue-dispatcher"))
                quiet_metrics()
                return
            except Exception:  # the invocation failed (database down): the mapping retries the batch
                self.produced.failed_deliveries += 1
                time.sleep(0.5)

    # EventBridge Scheduler: a tick every 2 s, scheduler-shaped, for the time it is sent
    def tick_forever(self, cron_app: Any) -> None:
        while not self.stop.wait(2.0):
            self.tick(cron_app)

    def tick(self, cron_app: Any) -> None:
        self.ticks += 1
        event = {"scheduled_time": datetime.now(UTC).isoformat()}
        try:
            cron_app.handler(event, Context("soak-cron-dispatcher"))
            quiet_metrics()
        except Exception:  # database down: the next tick does the work
            self.failed_ticks += 1

    # Lambda's containers: worker processes, some killed with SIGKILL, replaced at once
    def spawn_worker(self, index: int, environ: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        command = [
            sys.executable,
            str(REPO / "bench" / "soak_worker.py"),
            "--queue-url",
            environ["JOBU_WORK_QUEUE_URL"],
            "--seed",
            str(self.args.seed * 1000 + index),
            "--send-failure-rate",
            str(self.faults.send_failure),
        ]
        with log.open("ab") as out:
            return subprocess.Popen(command, env=environ, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)

    def chaos(self, environ: dict[str, str], logs: Path) -> None:
        rng = random.Random(self.args.seed + 7)
        spawned = len(self.workers)
        while not self.stop.wait(self.faults.kill_every_seconds):
            victim = rng.randrange(len(self.workers))
            self.workers[victim].send_signal(signal.SIGKILL)
            self.workers[victim].wait()
            self.kills += 1
            spawned += 1
            self.workers[victim] = self.spawn_worker(spawned, environ, logs / f"worker-{spawned}.log")


def quiet_metrics() -> None:
    """The soak counts from the database. With metrics disabled Powertools still prints a metric
    set once it holds 100 values, so drop them after each invocation."""
    from jobu.observability import metrics

    metrics.clear_metrics()


def environment(url: str, work: str, dead: str, pipeline_work: str) -> dict[str, str]:
    return {
        **os.environ,
        "AWS_ENDPOINT_URL": LOCALSTACK,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "CRITICAL",
        **function_environment(
            JOBU_DATABASE_URL=url,
            JOBU_DATABASE_POOL_SIZE="4",
            JOBU_WORK_QUEUE_URL=work,
            JOBU_DEAD_LETTER_QUEUE_URL=dead,
            # the soak's handlers are the default pool's; the pipeline pool's queue exists unused
            JOBU_WORK_QUEUE_URL_PIPELINE=pipeline_work,
            JOBU_REQUEUE_GRACE_SECONDS=str(GRACE_SECONDS),
            JOBU_REQUEUE_STUCK_SECONDS=str(STUCK_SECONDS),
            # retries after 1-2 s, 2-4 s, 4-8 s: the soak settles in seconds, not minutes
            JOBU_RETRY_BACKOFF_SECONDS="2",
            JOBU_RETRY_BACKOFF_MAX_SECONDS="8",
            JOBU_RUN_RETENTION_DAYS="0",
            # the soak's handlers touch only the job store; the pipeline's places stay closed
            JOBU_DATA_ROOT="",
            JOBU_DATA_S3_LOCATIONS="",
            JOBU_LOAD_DATABASES="",
            JOBU_LOAD_TABLES="",
        ),
    }


# --- the end: what the database says --------------------------------------------------------------


async def clear_limits(url: str) -> None:
    """The operator phase's jobs run `sample`: without --operator-limits, its races run with no limits
    (on MariaDB, the end of a rate-limited run then meets a deadlock that outlasts the connector's
    attempts under those races: a known open problem of the limits, not hidden by this default)."""
    from jobu.store import open_store

    store = await open_store(url)
    try:
        async with store.connector.transaction() as conn:
            for handler_name in ("soak_effect", "sample"):
                await store.limits.clear(handler_name, now=datetime.now(UTC), updated_by="soak", conn=conn)
    finally:
        await store.close()


async def snapshot(url: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[int, int]]:
    from jobu.store import open_store

    store = await open_store(url)
    try:
        queries = store.connector.queries(SQL_DIR)
        async with store.connector.connection() as conn:
            runs = [dict(r) async for r in queries.soak_runs(conn)]
            rejected = [dict(r) async for r in queries.soak_rejected(conn)]
            effects = {
                int(r["execution_id"]): int(r["effects"]) async for r in queries.soak_effects_per_run(conn)
            }
    finally:
        await store.close()
    return runs, rejected, effects


ACTIVE = {"WAITING", "PENDING", "RUNNING"}


def wait_until_settled(url: str, soak: Soak, cron_app: Any, limit_seconds: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit_seconds:
        runs, _, _ = asyncio.run(snapshot(url))
        if runs and not any(run["status"] in ACTIVE for run in runs):
            return time.monotonic() - started
        time.sleep(2.0)
    return time.monotonic() - started


def check(url: str, soak: Soak, sqs: Any, dead: str) -> list[str]:
    runs, rejected, effects = asyncio.run(snapshot(url))
    violations: list[str] = []
    event_runs = Counter(
        f"{r['source_topic']}:{r['source_partition']}:{r['source_offset']}"
        for r in runs
        if r["source_topic"] is not None
    )
    rejected_keys = {r["record_key"] for r in rejected}
    produced = soak.produced
    missing = produced.valid - set(produced.keyed) - set(produced.debounced) - set(event_runs)
    doubled = [key for key, n in event_runs.items() if n > 1]
    strays = set(event_runs) - produced.valid
    if missing:
        violations.append(f"{len(missing)} valid records have no run (e.g. {sorted(missing)[:3]})")
    violations += idempotency_violations(runs, produced)
    violations += debounce_violations(runs, produced)
    violations += limits_violations(runs)
    # a keyed record is a run or a duplicate of its key's run; a debounced one opened its window
    # (a run) or joined it
    deduplicated = set(produced.keyed) - set(event_runs)
    joined = set(produced.debounced) - set(event_runs)
    if doubled:
        violations.append(f"{len(doubled)} records have more than one run (e.g. {doubled[:3]})")
    if strays:
        violations.append(f"{len(strays)} runs for records that were not valid (e.g. {sorted(strays)[:3]})")
    if produced.rejected - rejected_keys:
        violations.append(f"{len(produced.rejected - rejected_keys)} bad records were not kept as rejected")
    records = len(produced.valid | produced.rejected)
    if len(event_runs) + len(rejected_keys) + len(deduplicated) + len(joined) != records:
        violations.append("event runs + rejected records + duplicates by key + debounced joins != records")
    active = [r["id"] for r in runs if r["status"] in ACTIVE]
    if active:
        violations.append(f"{len(active)} runs still WAITING/PENDING/RUNNING (e.g. {active[:5]})")
    early = [
        r["id"] for r in runs if r["status"] in ("FAILED", "TIMEOUT") and r["retry_count"] < r["max_retry"]
    ]
    if early:
        violations.append(f"{len(early)} runs FAILED/TIMEOUT with retries left (e.g. {early[:5]})")
    effect_runs = [r for r in runs if r["handler_name"] == "soak_effect"]
    wrong = [
        (r["id"], r["status"], effects.get(r["id"], 0))
        for r in effect_runs
        if effects.get(r["id"], 0) != (1 if r["status"] == "SUCCESS" else 0)
    ]
    if wrong:
        violations.append(f"{len(wrong)} runs whose effect is not once-per-SUCCESS (e.g. {wrong[:5]})")
    attributes = sqs.get_queue_attributes(
        QueueUrl=dead, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    dead_letters = sum(int(v) for v in attributes.values())
    if dead_letters:
        violations.append(f"{dead_letters} messages in the dead-letter queue")

    statuses = Counter(r["status"] for r in runs)
    sources = Counter(r["param_source"] for r in runs)
    print(f"records produced     {len(produced.valid) + len(produced.rejected)} "
          f"({len(produced.valid)} valid, {len(produced.rejected)} bad)")  # fmt: skip
    print(f"deliveries           {produced.deliveries} ({produced.duplicate_deliveries} duplicate batches, "
          f"{produced.failed_deliveries} failed and retried)")  # fmt: skip
    print(f"runs                 {len(runs)} ({dict(sources)}): {dict(sorted(statuses.items()))}")
    print(f"rejected records     {len(rejected)}")
    print_keys(produced, deduplicated, joined)
    retried = [r["retry_count"] for r in runs if r["retry_count"]]
    print(f"retries              {sum(retried)} over {len(retried)} runs")
    print(
        f"effects              {sum(effects.values())} rows for {statuses_of(effect_runs)} soak_effect runs"
    )
    print(f"faults               {soak.kills} workers killed, {soak.restarts} database restarts, "
          f"{soak.failed_ticks} of {soak.ticks} ticks failed")  # fmt: skip
    print(f"dead-letter queue    {dead_letters}")
    return violations


def idempotency_violations(runs: list[dict[str, Any]], produced: Produced) -> list[str]:
    """Every (handler, idempotency key) produced has exactly one run, made by one of its records."""
    by_key = Counter(
        (r["handler_name"], r["idempotency_key"]) for r in runs if r["idempotency_key"] is not None
    )
    produced_keys = set(produced.keyed.values())
    violations = []
    if wrong := sorted(key for key in produced_keys if by_key[key] != 1):
        counts = [(key, by_key[key]) for key in wrong[:3]]
        violations.append(f"{len(wrong)} idempotency keys without exactly one run (e.g. {counts})")
    if strays := sorted(set(by_key) - produced_keys):
        violations.append(f"{len(strays)} runs with a key no record carried (e.g. {strays[:3]})")
    return violations


def _time(value: Any) -> datetime:
    """A time as the drivers hand it back (SQLite: text), aware UTC."""
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def most_at_once(intervals: list[tuple[datetime, datetime]]) -> int:
    """The most intervals open at one instant (an end before a start at the same instant)."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    most = current = 0
    for _, step in edges:
        current += step
        most = max(most, current)
    return most


def most_in_window(times: list[datetime], seconds: float) -> int:
    """The most times in any half-open window [t, t + seconds)."""
    ordered = sorted(times)
    most, first = 0, 0
    for last, moment in enumerate(ordered):
        while (moment - ordered[first]).total_seconds() >= seconds:
            first += 1
        most = max(most, last - first + 1)
    return most


# a message is delivered at or after its DelaySeconds (rounded up); allow for the clocks' rounding
EARLY_TOLERANCE_SECONDS = 0.5
# the rate's times are computed in floating point and stored to the microsecond
WINDOW_TOLERANCE_SECONDS = 0.001


def limits_violations(runs: list[dict[str, Any]]) -> list[str]:
    """soak_effect: no concurrency key with more runs running at once than its limit (each run's
    last attempt, from started_at to finished_at, within the time it held its slot). sample: no run
    started before the time its rate handed it over for (a first attempt's available_at; a retry
    moves it), over any window of the period those times keep the rate, and so do the runs'
    started_at (each run's last attempt: a worker's claim takes its start from the rate)."""
    violations = []
    per_key = PER_KEY_LIMITS["per_key_concurrency"]
    by_key: dict[str | None, list[tuple[datetime, datetime]]] = {}
    for run in runs:
        if run["handler_name"] == "soak_effect" and run["started_at"] and run["finished_at"]:
            interval = (_time(run["started_at"]), _time(run["finished_at"]))
            by_key.setdefault(run["concurrency_key"], []).append(interval)
    peaks = {key: most_at_once(intervals) for key, intervals in by_key.items()}
    if over := sorted((str(key), peak) for key, peak in peaks.items() if peak > per_key):
        violations.append(f"{len(over)} concurrency keys ran more than {per_key} at once (e.g. {over[:3]})")
    rate = RATE_LIMITS["rate"]
    allowed = rate["limit"] + rate["burst"] - 1
    sampled = [r for r in runs if r["handler_name"] == "sample" and r["started_at"]]
    early = [
        r["id"]
        for r in sampled
        if r["retry_count"] == 0
        and (_time(r["available_at"]) - _time(r["started_at"])).total_seconds() > EARLY_TOLERANCE_SECONDS
    ]
    if early:
        violations.append(f"{len(early)} rate-limited runs started before their time (e.g. {early[:5]})")
    given = [_time(r["available_at"]) for r in sampled if r["retry_count"] == 0]
    densest = most_in_window(given, rate["period_seconds"] - WINDOW_TOLERANCE_SECONDS)
    if densest > allowed:
        violations.append(
            f"the rate handed {densest} runs over in {rate['period_seconds']} s (at most {allowed})"
        )
    # the starts themselves keep the rate too: a claim the rate does not allow yet puts its run back
    # (late messages that bunch up after a database restart or killed workers start spread out)
    starts = most_in_window([_time(r["started_at"]) for r in sampled], rate["period_seconds"])
    seconds = rate["period_seconds"]
    if starts > allowed:
        violations.append(f"{starts} rate-limited runs started in {seconds} s (at most {allowed})")
    print(f"limits               per key: most at once {dict(sorted((str(k), v) for k, v in peaks.items()))} "
          f"(limit {per_key}); rate: {len(given)} handed over, at most {densest} in {seconds} s "
          f"(limit {allowed}); starts at most {starts} in {seconds} s")  # fmt: skip
    return violations


def print_keys(produced: Produced, deduplicated: set[str], joined: set[str]) -> None:
    print(f"idempotency keys     {len(set(produced.keyed.values()))} over {len(produced.keyed)} records: "
          f"{len(deduplicated)} duplicates made no run")  # fmt: skip
    debounce_keys = {(handler, key) for handler, key, _ in produced.debounced.values()}
    print(f"debounce keys        {len(debounce_keys)} over {len(produced.debounced)} records: "
          f"{len(joined)} joined their key's waiting run")  # fmt: skip


def debounce_violations(runs: list[dict[str, Any]], produced: Produced) -> list[str]:
    """Every (handler, debounce key) produced has exactly one run, which ran with the params of the
    key's last record (the records of a key all came within one window)."""
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for run in runs:
        if run["debounce_key"] is not None:
            by_key.setdefault((run["handler_name"], run["debounce_key"]), []).append(run)
    last: dict[tuple[str, str], dict[str, Any]] = {}
    for handler, key, params in produced.debounced.values():  # in the order produced
        last[(handler, key)] = params
    violations = []
    if wrong := sorted(key for key in last if len(by_key.get(key, [])) != 1):
        counts = [(key, len(by_key.get(key, []))) for key in wrong[:3]]
        violations.append(f"{len(wrong)} debounce keys without exactly one run (e.g. {counts})")
    stale = []
    for handler_key, params in last.items():
        for run in by_key.get(handler_key, []):
            stored = json.loads(run["params"]) if isinstance(run["params"], str | bytes) else run["params"]
            if stored.get("value") != params["value"] or run["status"] != "SUCCESS":
                stale.append((run["id"], run["status"], stored.get("value"), params["value"]))
    if stale:
        violations.append(
            f"{len(stale)} debounced runs without the last params, or not SUCCESS (e.g. {stale[:3]})"
        )
    if strays := sorted(set(by_key) - set(last)):
        violations.append(f"{len(strays)} runs with a debounce key no record carried (e.g. {strays[:3]})")
    return violations


def statuses_of(runs: list[dict[str, Any]]) -> str:
    return ", ".join(f"{n} {status}" for status, n in sorted(Counter(r["status"] for r in runs).items()))


def settle_while_ticking(url: str, soak: Soak, cron_app: Any, seconds: float) -> float:
    """wait_until_settled, with the scheduler ticking every 2 s meanwhile, as it would."""
    settled = threading.Event()

    def keep_ticking() -> None:
        while not settled.wait(2.0):
            soak.tick(cron_app)

    ticker = threading.Thread(target=keep_ticking, daemon=True)
    ticker.start()
    try:
        return wait_until_settled(url, soak, cron_app, seconds)
    finally:
        settled.set()
        ticker.join()


def run_backend(args: argparse.Namespace, backend: str) -> int:
    from bench.soak_batches import BatchClient
    from bench.soak_batches import check as check_batches
    from jobu.work_queue import WorkQueue

    subprocess.run([str(REPO / "scripts" / "localstack.sh")], check=True, stdout=subprocess.DEVNULL)
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="jobu-soak-") as scratch,
        database(backend, Path(scratch)) as (
            url,
            restart,
        ),
    ):
        asyncio.run(prepare(url))
        sqs = boto3.client("sqs", endpoint_url=LOCALSTACK, region_name="us-east-1",
                           aws_access_key_id="test", aws_secret_access_key="test")  # fmt: skip
        name = f"jobu-soak-{backend}-{uuid.uuid4().hex[:8]}"
        work, dead = queues(sqs, name)
        pipeline_work, _ = queues(sqs, f"{name}-pipeline")
        environ = environment(url, work, dead, pipeline_work)
        os.environ.update(environ)
        # the dispatchers run here, in-process, as Lambda would run them: their modules, warm
        # by name: mypy knows the entry points as the modules `app` Lambda loads, not as functions.*
        cron_app: Any = importlib.import_module("functions.cron_dispatcher.app")
        queue_app: Any = importlib.import_module("functions.queue_dispatcher.app")

        known = frozenset({"soak_effect", "sample"})
        queue_app.known_handler_names = lambda: known
        for index, app in enumerate((cron_app, queue_app)):
            app.container.reset()
            chaos = ChaoticSQS(app.container.sqs, Faults(), random.Random(args.seed * 10 + index))
            app.container._sqs = chaos
        soak = Soak(args, url, restart)
        logs = Path(scratch)
        soak.workers = [soak.spawn_worker(i, environ, logs / f"worker-{i}.log") for i in range(args.workers)]
        batch_client = BatchClient(
            url,
            # its sends fail after the INSERT now and then (the sweeper sends them), or go twice
            WorkQueue(
                sqs_client=ChaoticSQS(sqs, Faults(), random.Random(args.seed * 10 + 3)),  # type: ignore[arg-type]  # duck-typed
                queue_url=work,
            ),
            seed=args.seed,
            count=args.batches,
            seconds=args.produce_seconds,
            max_retry=MAX_RETRY,
            timeout_seconds=JOB_TIMEOUT_SECONDS,
            fail_rate=soak.faults.handler_failure,
            linger_ms=soak.faults.linger_ms,
        )
        threads = [
            threading.Thread(target=soak.tick_forever, args=(cron_app,), daemon=True),
            threading.Thread(target=soak.chaos, args=(environ, logs), daemon=True),
        ]
        for thread in threads:
            thread.start()
        threads.append(batch_client.start())  # its batches are made while the records flow
        soak.produce(queue_app)
        produced_in = time.monotonic() - started
        time.sleep(args.chaos_seconds)  # kills go on while the backlog is worked off
        soak.stop.set()  # no more kills; ticks go on below until everything settled
        for thread in threads:
            thread.join()
        settled_in = settle_while_ticking(url, soak, cron_app, args.settle_seconds)
        for worker in soak.workers:
            worker.terminate()
            worker.wait()
        print(f"== soak on {backend}: seed {args.seed}, {args.workers} workers, "
              f"produced in {produced_in:.1f} s, settled {settled_in:.1f} s later")  # fmt: skip
        violations = check(url, soak, sqs, dead)
        violations += check_batches(url, batch_client)
        if backend in ("postgres", "mysql") and args.operator_minutes:
            from bench.soak_operators import run_operator_races

            if not args.operator_limits:
                asyncio.run(clear_limits(url))
            violations += run_operator_races(url, minutes=args.operator_minutes, seed=args.seed)
        for app in (cron_app, queue_app):
            app.container.reset()
    if backend in ("postgres", "mysql"):
        from bench.soak_ticks import run_contention

        violations += run_contention(backend, jobs=args.tick_jobs, minutes=args.tick_minutes, seed=args.seed)
    for violation in violations:
        print(f"VIOLATION: {violation}")
    print(f"violations {len(violations)}")
    return len(violations)


def main() -> int:
    os.environ.update(
        POWERTOOLS_LOG_LEVEL="CRITICAL", POWERTOOLS_METRICS_DISABLED="true"
    )  # before jobu loads
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["postgres", "mysql", "sqlite", "all"], default="postgres")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--settle-seconds", type=float, default=300.0)
    parser.add_argument(
        "--produce-seconds", type=float, default=60.0, help="spread the records over this long"
    )
    parser.add_argument(
        "--chaos-seconds", type=float, default=30.0, help="kills go on this long after producing"
    )
    parser.add_argument(
        "--tick-jobs", type=int, default=2000, help="tick contention phase: every-minute jobs"
    )
    parser.add_argument("--tick-minutes", type=int, default=30, help="tick contention phase: minutes ticked")
    parser.add_argument(
        "--operator-minutes", type=int, default=30, help="operator phase (bench/soak_operators.py): ticks"
    )
    parser.add_argument("--batches", type=int, default=40, help="batches of runs made while records flow")
    parser.add_argument(
        "--operator-limits",
        action="store_true",
        help="keep the soak's limits on for the operator phase (sample rate-limited)",
    )
    parser.add_argument("--short", action="store_true", help="CI: 300 events on each backend")
    args = parser.parse_args()
    if args.short:
        args.events, args.produce_seconds, args.chaos_seconds = 300, 15.0, 10.0
        args.batches = min(args.batches, 12)
        args.tick_jobs, args.tick_minutes = 300, 12
        args.operator_minutes = min(args.operator_minutes, 15)
        args.backend = "all" if args.backend == "postgres" and "--backend" not in sys.argv else args.backend
    backends = ["postgres", "mysql", "sqlite"] if args.backend == "all" else [args.backend]
    return 1 if sum(run_backend(args, backend) for backend in backends) else 0


if __name__ == "__main__":
    sys.exit(main())
