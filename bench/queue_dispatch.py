"""Queue dispatcher throughput: one MSK event of 1,000 records, PostgreSQL + moto SQS.

Ours (jobu.event_dispatch: one multi-row INSERT, SendMessageBatch calls made concurrently)
against a per-record baseline (one INSERT and one SendMessage per record), in the same run on
the same database. Last line: `ratio <batched/baseline>`. Target: at least 10x.

    .venv/bin/python bench/queue_dispatch.py [--records 1000] [--database-url postgresql://...]
        [--endpoint-url http://127.0.0.1:4566]   # an SQS emulator over HTTP (LocalStack) instead of moto

moto spends CPU per message in proportion to the messages already in the queue, and as much per
batch entry as per single send; it therefore flattens any batching gain. The script prints the
database phase on its own too, so the part that does not depend on the emulator is visible.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import boto3
from botocore.config import Config
from moto import mock_aws

from jobu.event_dispatch import Accepted, dispatch_event, parse_record
from jobu.handler_manifest import known_handler_names
from jobu.kafka_records import read_event
from jobu.observability import logger
from jobu.store import open_store
from jobu.work_queue import WorkQueue

ADMIN_URL = os.environ.get("JOBU_BENCH_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BENCH_DB = "jobu_bench_queue_dispatch"


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
    for name, default in (
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "x"),
        ("AWS_SECRET_ACCESS_KEY", "x"),
    ):
        os.environ.setdefault(name, default)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    config = Config(max_pool_connections=32)
    if endpoint_url:
        yield boto3.client("sqs", endpoint_url=endpoint_url, config=config)
        return
    with mock_aws():
        yield boto3.client("sqs", config=config)


class NoQueue:
    """Accepts every message and sends nothing: times the database phase alone."""

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}

    def send_message(self, QueueUrl: str, MessageBody: str) -> dict[str, Any]:
        return {}


async def fresh_database() -> str:
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{BENCH_DB}"')
    finally:
        await admin.close()
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{BENCH_DB}"


async def batched(url: str, sqs: Any, queue_url: str, event: dict[str, Any]) -> float:
    store = await open_store(url)
    try:
        started = time.perf_counter()
        report = await dispatch_event(
            store,
            WorkQueue(sqs_client=sqs, queue_url=queue_url),
            event,
            known_handlers=known_handler_names(),
            now=datetime.now(UTC),
        )
        elapsed = time.perf_counter() - started
    finally:
        await store.close()
    assert len(report.dispatched) == len(event["records"][next(iter(event["records"]))])
    return elapsed


async def per_record(url: str, sqs: Any, queue_url: str, event: dict[str, Any]) -> float:
    """The naive dispatcher: same parsing, then one INSERT and one SendMessage per record."""
    store = await open_store(url)
    queries = store.connector.queries(Path(__file__).with_name("sql"))
    known = known_handler_names()
    try:
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
    finally:
        await store.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: a fresh one)")
    parser.add_argument("--endpoint-url", help="SQS endpoint (e.g. LocalStack); default: moto in-process")
    args = parser.parse_args()
    url = args.database_url or await fresh_database()
    store = await open_store(url)
    await store.migrate()
    await store.close()
    logger.setLevel("WARNING")  # a log line per run would time the logger, not the dispatch
    db_ours = await batched(url, NoQueue(), "none", msk_event("db-batched", args.records))
    db_baseline = await per_record(url, NoQueue(), "none", msk_event("db-baseline", args.records))
    with sqs_client(args.endpoint_url) as sqs:
        # a queue of its own per run: moto scans a queue's messages on every send, so a shared
        # queue would charge the later run for the earlier one's messages
        def queue(name: str) -> str:
            return str(sqs.create_queue(QueueName=name)["QueueUrl"])

        # warm both paths once (connections, moto, imports) on their own topics and queues
        await batched(url, sqs, queue("warm-batched"), msk_event("warm-batched", 20))
        await per_record(url, sqs, queue("warm-baseline"), msk_event("warm-baseline", 20))
        ours = await batched(url, sqs, queue("batched"), msk_event("bench-batched", args.records))
        baseline = await per_record(url, sqs, queue("baseline"), msk_event("bench-baseline", args.records))
    emulator = f"SQS at {args.endpoint_url}" if args.endpoint_url else "moto SQS"
    print(f"records: {args.records} (PostgreSQL {url.rsplit('@', 1)[-1]}, {emulator})")
    print(
        f"database phase only: batched {args.records / db_ours:,.0f} records/s, "
        f"per-record {args.records / db_baseline:,.0f} records/s, ratio {db_baseline / db_ours:.1f}"
    )
    for label, seconds in (
        ("batched (one INSERT, concurrent SendMessageBatch)", ours),
        ("baseline (INSERT + SendMessage per record)", baseline),
    ):
        print(f"{label:<50} {seconds * 1000:9.1f} ms {args.records / seconds:10,.0f} records/s")
    print(f"ratio {baseline / ours:.1f}")


if __name__ == "__main__":
    asyncio.run(main())
