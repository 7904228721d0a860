"""Scheduled-to-started latency through the local runtime, warm: how long a run waits to start.

Runs the template's cron dispatcher, queue dispatcher and worker under the local runtime (embedded
moto server and Tansu, SQLite in a state folder of its own) and measures, on warm containers:

- Kafka: a record produced one at a time (a pause between, so each is a record on its own, not a
  burst), from its send to its run's started_at (the worker's claim);
- cron: JOBS jobs due every minute, ticked right after the minute turns (as EventBridge Scheduler
  does), from each slot to its run's started_at;
- floor, in the same run and the same emulator: what any run must pay between "due" and "claimed"
  here: an SQS message sent to a queue of the same moto server and received by a waiting poller,
  then one statement on the same database.

Prints p50 / p99 / max of each; the last line is `ratio X`: the Kafka path's p50 over the floor's p50
(lower is better: how many floors a record's wait to start costs).

    .venv/bin/python bench/start_latency.py [--records 50] [--jobs 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaProducer

from jobu.handler_manifest import known_handler_names
from jobu.operations.audit import Actor
from jobu.operations.cron_jobs import create as create_cron_job
from jobu.specs import CronJobSpec
from jobu.store import JobStore, open_store
from jobu_local.runtime.runtime import LocalRuntime, RuntimeOptions

ROOT = Path(__file__).resolve().parents[1]
TOPIC = "jobu-events"
GAP_SECONDS = 0.2  # between two records: each starts alone
WORKER_TIMEOUTS = {"default": 900, "pipeline": 900}  # the template's worker Timeouts at most


def summary(label: str, values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * len(ordered)) - 1)]
    return (
        f"{label:<6} n {len(ordered):4d}  p50 {statistics.median(ordered) * 1000:8.1f} ms  "
        f"p99 {p99 * 1000:8.1f} ms  max {ordered[-1] * 1000:8.1f} ms"
    )


async def started(store: JobStore, ids: set[int], within: float) -> dict[int, datetime]:
    """{run id: started_at} once every run of `ids` has started."""
    deadline = time.monotonic() + within
    while True:
        runs = [run for run in await store.runs.list_recent(limit=100_000) if run.id in ids]
        found = {run.id: run.started_at for run in runs if run.started_at is not None}
        if len(found) == len(ids):
            return found
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(found)} of {len(ids)} runs started within {within:.0f} s")
        await asyncio.sleep(0.2)


async def kafka_latencies(runtime: LocalRuntime, store: JobStore, count: int) -> list[float]:
    producer = AIOKafkaProducer(bootstrap_servers=runtime.bootstrap_servers, acks="all", linger_ms=0)
    await producer.start()
    sent: dict[tuple[int, int], float] = {}
    try:
        for number in range(count):
            value = json.dumps({"handler_name": "sample", "params": {"id": number}, "job_id": None}).encode()
            at = time.time()
            meta = await producer.send_and_wait(TOPIC, value)
            sent[meta.partition, meta.offset] = at
            await asyncio.sleep(GAP_SECONDS)
    finally:
        await producer.stop()
    deadline = time.monotonic() + 60
    while True:
        runs = {
            (run.source_partition, run.source_offset): run
            for run in await store.runs.list_recent(limit=100_000)
            if run.param_source == "event" and run.started_at is not None
        }
        if all(key in runs for key in sent) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    missing = [key for key in sent if key not in runs]
    if missing:
        raise SystemExit(f"{len(missing)} Kafka records never started")
    return [runs[key].started_at.timestamp() - at for key, at in sent.items()]  # type: ignore[union-attr]


async def cron_latencies(runtime: LocalRuntime, store: JobStore, jobs: int) -> list[float]:
    now = datetime.now(UTC)
    for number in range(jobs):
        spec = CronJobSpec.model_validate(
            {"name": f"bench-{uuid.uuid4().hex[:8]}-{number}", "cron_expression": "* * * * *",
             "handler_name": "sample", "catchup_policy": "skip"}
        )  # fmt: skip
        await create_cron_job(
            store,
            spec,
            known_handlers=known_handler_names(),
            worker_timeouts=WORKER_TIMEOUTS,
            now=now,
            actor=Actor("bench:start_latency"),
        )
    latencies: list[float] = []
    for _ in range(2):  # the first minute warms the cron path; the second is measured
        await asyncio.sleep(60 - time.time() % 60 + 0.05)  # just after the minute turns
        tick = await runtime.tick()
        if not tick.ok:
            raise SystemExit(f"the tick failed: {tick}")
        ids = set(tick.result["dispatched"])
        starts = await started(store, ids, within=60)
        runs = [run for run in await store.runs.list_recent(limit=100_000) if run.id in ids]
        latencies = [starts[run.id].timestamp() - run.scheduled_time.timestamp() for run in runs]  # type: ignore[union-attr]
    return latencies


async def floor_latencies(runtime: LocalRuntime, store: JobStore, count: int) -> list[float]:
    sqs = runtime.aws.client("sqs")  # type: ignore[union-attr]
    url = (await asyncio.to_thread(sqs.create_queue, QueueName=f"bench-floor-{uuid.uuid4().hex[:8]}"))[
        "QueueUrl"
    ]

    def hop() -> float:
        began = time.time()
        sqs.send_message(QueueUrl=url, MessageBody="{}")
        while True:
            got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, MaxNumberOfMessages=1).get(
                "Messages", []
            )
            if got:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
                return began

    latencies = []
    for _ in range(count):
        began = await asyncio.to_thread(hop)
        await store.ping()  # the claim's one statement
        latencies.append(time.time() - began)
    return latencies


async def measure(records: int, jobs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="jobu-bench-start-") as state:
        database_url = f"sqlite:///{Path(state) / 'jobu.db'}"
        runtime = LocalRuntime(
            RuntimeOptions(
                template_path=ROOT / "template.yaml",
                functions=["cron-dispatcher", "queue-dispatcher", "worker"],
                state_dir=Path(state) / "state",
                database_url=database_url,
                schedule=False,
                http_port=0,
                dashboard_port=None,
                parameter_overrides={"KafkaBatchingWindowSeconds": "0"},
            )
        )
        await runtime.start()
        store = await open_store(database_url)
        try:
            await kafka_latencies(runtime, store, 5)  # warm: every container has served a run
            kafka = await kafka_latencies(runtime, store, records)
            floor = await floor_latencies(runtime, store, records)
            cron = await cron_latencies(runtime, store, jobs)
        finally:
            await store.close()
            await runtime.stop()
    print(summary("kafka", kafka))
    print(summary("cron", cron))
    print(summary("floor", floor))
    print(f"ratio {statistics.median(kafka) / statistics.median(floor):.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=20)
    args = parser.parse_args()
    print(f"scheduled-to-started, warm: {args.records} Kafka records one at a time, {args.jobs} cron jobs")
    asyncio.run(measure(args.records, args.jobs))


if __name__ == "__main__":
    main()
