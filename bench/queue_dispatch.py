"""Queue dispatcher throughput: one MSK event of 1,000 records, PostgreSQL + an SQS-like emulator.

Ours: jobu.event_dispatch on the event (parse and check every record, one multi-row INSERT,
concurrent SendMessageBatch calls, queued_at recorded). Two references, in the same run, on the
same database and emulator:
- per-record: the naive dispatcher (the same parsing, then one INSERT and one SendMessage per
  record): `ratio` is ours over it in records/s (target: at least 20);
- the floor: the batch's INSERT statement alone plus its sends alone (1,000 messages in
  SendMessageBatch calls of 10, made as concurrently as ours makes them), timed apart and added:
  `floor_ratio` is our time over the floor's (target: at most 1.3).

SQS is LocalStack's by default (scripts/localstack.sh starts it when it is not running, and it is
left running: it is shared). moto is not SQS-like for this: it recomputes a queue's attributes over
every message on each send and batch entry, which flattens any batching gain. Every measurement
gets a queue and topic of its own; the queues are deleted and the database (a fresh one of this
run's own) is dropped at the end. Logging is at WARNING: a line per run would time the logger.
Runs alternate --repeat times (ours, per-record, floor); medians count.

    .venv/bin/python bench/queue_dispatch.py [--records 1000] [--repeat 3]
        [--endpoint-url http://127.0.0.1:4566 | --moto]

Last line: `ratio X`, ours over per-record in records/s.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from bench.scratch_database import fresh_postgres
from bench.table import figure
from jobu.event_dispatch import Accepted, dispatch_event, parse_record
from jobu.handler_manifest import known_handler_names
from jobu.kafka_records import read_event
from jobu.observability import logger
from jobu.store import JobStore, open_store
from jobu.work_queue import SEND_CONCURRENCY, SQS_BATCH_LIMIT, WorkQueue

ROOT = Path(__file__).resolve().parents[1]
LOCALSTACK = "http://127.0.0.1:4566"


def msk_event(topic: str, records: int) -> dict[str, Any]:
    def value(i: int) -> str:
        message = {"handler_name": "sample", "params": {"id": i, "name": f"item-{i}"}, "job_id": None}
        return base64.b64encode(json.dumps(message).encode()).decode()

    batch = [
        {"topic": topic, "partition": 0, "offset": i, "timestamp": 0, "timestampType": "CREATE_TIME",
         "value": value(i), "headers": []}
        for i in range(records)
    ]  # fmt: skip
    return {"eventSource": "aws:kafka", "bootstrapServers": "local", "records": {f"{topic}-0": batch}}


@contextmanager
def sqs_client(endpoint_url: str | None) -> Iterator[Any]:
    """LocalStack's SQS (or another emulator over HTTP), or moto's in this process."""
    for name, default in (
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
    ):
        os.environ.setdefault(name, default)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    config = Config(max_pool_connections=32)  # as jobu.lambda_runtime makes the client
    if endpoint_url:
        yield boto3.client("sqs", endpoint_url=endpoint_url, config=config)
        return
    from moto import mock_aws

    with mock_aws():
        yield boto3.client("sqs", config=config)


class NoQueue:
    """Accepts every message and sends nothing: times the database phase alone."""

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}

    def send_message(self, QueueUrl: str, MessageBody: str) -> dict[str, Any]:
        return {}


class Queues:
    """A queue of its own per measurement (a queue's backlog must not slow the next one down)."""

    def __init__(self, sqs: Any) -> None:
        self.sqs, self.tag = sqs, uuid.uuid4().hex[:8]
        self.urls: list[str] = []

    def new(self, name: str) -> str:
        url = str(self.sqs.create_queue(QueueName=f"jobu-bench-{name}-{self.tag}")["QueueUrl"])
        self.urls.append(url)
        return url

    def delete_all(self) -> None:
        for url in self.urls:
            self.sqs.delete_queue(QueueUrl=url)


async def batched(store: JobStore, sqs: Any, queue_url: str, event: dict[str, Any]) -> float:
    started = time.perf_counter()
    report = await dispatch_event(
        store,
        WorkQueue(sqs_client=sqs, queue_url=queue_url),
        event,
        known_handlers=known_handler_names(),
        now=datetime.now(UTC),
    )
    elapsed = time.perf_counter() - started
    records = len(event["records"][next(iter(event["records"]))])
    if len(report.dispatched) != records:
        raise RuntimeError(f"dispatched {len(report.dispatched)} of {records}: {report.unsent[:5]}")
    return elapsed


async def per_record(store: JobStore, sqs: Any, queue_url: str, event: dict[str, Any]) -> float:
    """The naive dispatcher: same parsing, then one INSERT and one SendMessage per record."""
    queries = store.connector.queries(Path(__file__).with_name("sql"))
    known = known_handler_names()
    started = time.perf_counter()
    async with store.connector.connection() as conn:
        for record in read_event(event):
            parsed = parse_record(record, known)
            assert isinstance(parsed, Accepted)
            where = parsed.record.coordinates
            execution_id = await queries.insert_one_event_execution(
                conn,
                handler_name="sample",
                params=parsed.message.params,
                now=datetime.now(UTC),
                topic=where.topic,
                partition=where.partition,
                offset=where.offset,
            )
            body = json.dumps({"execution_id": execution_id, "attempt": 0})
            await asyncio.to_thread(sqs.send_message, QueueUrl=queue_url, MessageBody=body)
    return time.perf_counter() - started


async def floor(store: JobStore, sqs: Any, queue_url: str, event: dict[str, Any]) -> tuple[float, float]:
    """The batch's INSERT statement alone, and its sends alone: (insert seconds, send seconds)."""
    topic = next(iter(event["records"].values()))[0]["topic"]
    count = len(event["records"][next(iter(event["records"]))])
    rows = [
        {"handler_name": "sample", "params": {"id": i, "name": f"item-{i}"}, "max_retry": 0,
         "timeout_seconds": 300, "source_topic": topic, "source_partition": 0, "source_offset": i}
        for i in range(count)
    ]  # fmt: skip
    connector = store.connector
    async with connector.connection() as conn:
        started = time.perf_counter()
        await connector.jobu_queries.insert_event_executions(
            conn, rows=connector.encode_json(rows), now=connector.encode_time(datetime.now(UTC))
        )
        insert = time.perf_counter() - started
    bodies = [json.dumps({"execution_id": i, "attempt": 0}) for i in range(count)]
    chunks = [bodies[i : i + SQS_BATCH_LIMIT] for i in range(0, count, SQS_BATCH_LIMIT)]

    def send(chunk: list[str]) -> Any:
        entries: Any = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)]
        return sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)

    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(SEND_CONCURRENCY) as threads:  # as many calls in flight as ours makes
        started = time.perf_counter()
        await asyncio.gather(*(loop.run_in_executor(threads, send, chunk) for chunk in chunks))
        return insert, time.perf_counter() - started


async def measure_in_database(args: argparse.Namespace, endpoint: str | None) -> dict[str, list[float]]:
    async with fresh_postgres("queue_dispatch") as url:
        store = await open_store(url)
        try:
            await store.migrate()
            return await measure(args, store, endpoint)
        finally:
            await store.close()


async def measure(args: argparse.Namespace, store: JobStore, endpoint: str | None) -> dict[str, list[float]]:
    n = args.records
    times: dict[str, list[float]] = {}

    def note(kind: str, seconds: float) -> None:
        times.setdefault(kind, []).append(seconds)

    # the database phase on its own, as the bench always printed it
    note("db_ours", await batched(store, NoQueue(), "none", msk_event("db-batched", n)))
    note("db_per_record", await per_record(store, NoQueue(), "none", msk_event("db-per-record", n)))
    with sqs_client(endpoint) as sqs:
        queues = Queues(sqs)
        try:
            # warm every path once (connections, emulator, imports) on topics and queues of its own
            await batched(store, sqs, queues.new("warm-batched"), msk_event("warm-batched", 20))
            await per_record(store, sqs, queues.new("warm-naive"), msk_event("warm-naive", 20))
            await floor(store, sqs, queues.new("warm-floor"), msk_event("warm-floor", 20))
            for run in range(args.repeat):
                note(
                    "ours", await batched(store, sqs, queues.new(f"ours-{run}"), msk_event(f"ours-{run}", n))
                )
                naive = await per_record(store, sqs, queues.new(f"naive-{run}"), msk_event(f"naive-{run}", n))
                note("per_record", naive)
                insert, sends = await floor(
                    store, sqs, queues.new(f"floor-{run}"), msk_event(f"floor-{run}", n)
                )
                note("floor_insert", insert)
                note("floor_sends", sends)
                note("floor", insert + sends)
        finally:
            queues.delete_all()
    return times


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--endpoint-url", default=LOCALSTACK, help="SQS over HTTP (default: LocalStack)")
    where.add_argument("--moto", action="store_true", help="moto in this process instead (not SQS-like)")
    args = parser.parse_args()
    endpoint = None if args.moto else args.endpoint_url
    if endpoint == LOCALSTACK:
        subprocess.run([str(ROOT / "scripts" / "localstack.sh")], check=True, stdout=subprocess.DEVNULL)
    logger.setLevel("WARNING")  # a log line per run would time the logger, not the dispatch
    times = asyncio.run(measure_in_database(args, endpoint))
    median = {kind: statistics.median(seconds) for kind, seconds in times.items()}
    n = args.records
    sqs_name = "moto" if endpoint is None else endpoint
    print(f"records: {n} in one MSK event; PostgreSQL, {sqs_name} SQS; medians of {args.repeat}")
    print(
        f"database phase only: batched {n / median['db_ours']:,.0f} records/s, "
        f"per-record {n / median['db_per_record']:,.0f} records/s, "
        f"ratio {median['db_per_record'] / median['db_ours']:.1f}"
    )
    for kind, label in (
        ("ours", "ours (one INSERT, concurrent SendMessageBatch)"),
        ("per_record", "per-record (INSERT + SendMessage each)"),
        ("floor", "floor: the INSERT alone + the sends alone"),
    ):
        print(f"{label:<50} {median[kind] * 1000:9.1f} ms {n / median[kind]:10,.0f} records/s")
    insert_ms, sends_ms = median["floor_insert"] * 1000, median["floor_sends"] * 1000
    print(f"  (floor: INSERT {insert_ms:.1f} ms + sends {sends_ms:.1f} ms)")
    ratio, floor_ratio = median["per_record"] / median["ours"], median["ours"] / median["floor"]
    figure(
        f"queue dispatch, one {n:,}-record MSK event, {sqs_name} SQS",
        f"{n / median['ours']:,.0f} records/s ({median['ours'] * 1000:.0f} ms)",
        f"per-record: {n / median['per_record']:,.0f} records/s",
        f"{ratio:.1f}x per-record",
        ">= 20x",
    )
    figure(
        f"queue dispatch, {n:,} records, against the INSERT + sends alone",
        f"{median['ours'] * 1000:.0f} ms",
        f"INSERT {insert_ms:.0f} ms + sends {sends_ms:.0f} ms",
        f"{floor_ratio:.2f}x the floor",
        "<= 1.3x",
    )
    print(f"floor_ratio {floor_ratio:.2f}")
    print(f"ratio {ratio:.1f}")


if __name__ == "__main__":
    main()
