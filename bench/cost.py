"""The AWS bill of one million runs, on each way in (cron, Kafka, enqueue), against its floor.

Measured in this run, each function warm in a process of its own (its entry point, the template's
environment, PostgreSQL and LocalStack's SQS), the median of several invocations:
- the default pool's worker: an SQS event of 10 `sample` messages (the template's batch size);
- the queue dispatcher: MSK events of 100 and of 1,000 records;
- the cron dispatcher: ticks with 100 and with 1,000 jobs due;
- the admin API inserting and sending one run (POST /api/crons/{id}/run). The enqueue API of issue 22
  (POST /api/runs) does not exist yet; run now is the operation closest to it: one HTTP request, one
  invocation, one INSERT and one message per run;
- the floor: what ten runs cannot do without (the claim and the outcome of each, ten at once, on the
  worker's pool) in one invocation.
For each: wall time, CPU time, peak RSS and the SQS requests it made.

Billed duration at a memory size M (MB): Lambda gives a function M / 1769 of a vCPU (1,769 MB is
one), so the CPU part of an invocation stretches by 1769 / M below that and the waiting does not:
    duration(M) = wall + cpu x max(0, 1769 / M - 1), rounded up to the millisecond.
This machine's core stands in for a Graviton2 vCPU (arm64, the template's architecture).

Cost of a run on a path, with the template's memory sizes and architecture, at the prices below:
- Lambda: requests and GB-seconds of each function the run goes through (a dispatcher's invocation
  shared by its batch; the worker's by its ten);
- SQS: the sends measured, and the worker's receives and deletes as its event source mapping makes
  them (one ReceiveMessage and one DeleteMessageBatch per batch of WorkerBatchSize);
- API Gateway: the HTTP API request of the enqueue path.
The floor: one Lambda invocation (the floor's measured duration, at the worker's memory) and two SQS
requests (a send and a receive) per ten runs.

Not per run, so not in the table: the scheduler's tick every minute (43,200 invocations a month),
the SQS event source mapping's empty receives on an idle queue, the Kafka cluster, the database,
logs. The memory sizes tried for each function are printed with what each would cost.

    .venv/bin/python bench/cost.py [--invocations 20]

Last line: `ratio X`, the cost of a million runs over the floor's, on the worse of the cron and
Kafka paths (batches of 100). The enqueue path is printed with its own ratio: one HTTP request per
run, by design.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.function_process import ROOT, pool_queues, process_environment, run_child, sqs_client
from bench.runs import claim_and_finish
from bench.table import figure

# Public prices, us-east-1, first tier, free tiers left out; as published on 2026-12-01
# (aws.amazon.com/lambda/pricing, /sqs/pricing, /api-gateway/pricing). Check them before relying on
# the figures: AWS changes prices by region and over time.
PRICES_AS_OF = "2026-12-01"
LAMBDA_PER_REQUEST = 0.20 / 1e6
LAMBDA_PER_GB_SECOND = {"arm64": 0.0000133334, "x86_64": 0.0000166667}
SQS_PER_REQUEST = 0.40 / 1e6  # standard queue; each 64 KB of a request is one (jobu's are < 100 B)
HTTP_API_PER_REQUEST = 1.00 / 1e6
FULL_VCPU_MB = 1769
MEMORY_SIZES = (128, 256, 512, 1024, 1769)
# How a function's memory is chosen from what is measured here: the smallest size of MEMORY_SIZES at
# which its peak RSS takes at most half the memory and a warm invocation takes at most twice as long
# as with a whole vCPU. Below that a million runs cost cents less and each run waits twice as long.
RSS_SHARE = 0.5
SLOWDOWN = 2.0
# What a hosted job platform charges per run, on its own pages (for docs/performance.md): see there.

LOGICAL_IDS = {
    "worker": "WorkerFunction",
    "queue_dispatcher": "QueueDispatcherFunction",
    "cron_dispatcher": "CronDispatcherFunction",
    "admin_api": "AdminApiFunction",
    "floor": "WorkerFunction",
}


# --- the measured process -------------------------------------------------------------------------


def child(kind: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Warm invocations of one function in this process: the first warms it, the rest are timed."""
    real_stdout, sys.stdout = sys.stdout, open(os.devnull, "w")  # noqa: SIM115  (logs: formatted, dropped)
    try:
        if kind == "floor":
            return floor_child(inputs)
        return function_child(kind, inputs)
    finally:
        sys.stdout = real_stdout


def function_child(kind: str, inputs: dict[str, Any]) -> dict[str, Any]:
    import importlib

    from tests.support.lambda_events import Context

    app: Any = importlib.import_module(f"functions.{kind}.app")
    sends: list[str] = []
    events = inputs["events"]
    app.handler(events[0], Context(f"jobu-{kind}"))  # cold: makes the pool and clients
    if app.container._sqs is not None or app.container._sqs_made is not None:
        app.container.sqs.meta.events.register("before-call.sqs", lambda model, **_: sends.append(model.name))
    sends.clear()
    walls, cpus = [], []
    for event in events[1:]:
        wall, cpu = time.perf_counter(), time.process_time()
        response = app.handler(event, Context(f"jobu-{kind}"))
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        check(kind, response)
    return {"wall": walls, "cpu": cpus, "sends": len(sends), "rss_mb": peak_rss_mb()}


def check(kind: str, response: dict[str, Any]) -> None:
    """Each invocation did its work (the cost of failures would measure nothing useful)."""
    answered: dict[str, Callable[[dict[str, Any]], Any]] = {
        "worker": lambda r: not r.get("batchItemFailures"),
        "queue_dispatcher": lambda r: not r.get("rejected") and not r.get("unsent") and r.get("dispatched"),
        "cron_dispatcher": lambda r: r.get("dispatched") and not r.get("unsent"),
        "admin_api": lambda r: r.get("statusCode") == 201 and json.loads(r["body"])["queued"],
    }
    if not answered[kind](response):
        raise RuntimeError(f"{kind} answered {str(response)[:500]}")


def floor_child(inputs: dict[str, Any]) -> dict[str, Any]:
    """Ten runs' claim and outcome, ten at once, on a pool of the worker's size: per batch."""
    import asyncio

    from jobu.store import open_store

    async def measure() -> dict[str, Any]:
        store = await open_store(inputs["database_url"], max_connections=int(inputs["pool_size"]))

        async def one(execution_id: int) -> None:
            now = datetime.now(UTC)
            await claim_and_finish(
                store.connector,
                execution_id,
                timeout_base=now + timedelta(seconds=5),
                deadline_at=now + timedelta(seconds=60),
            )

        walls, cpus = [], []
        for index, batch in enumerate(inputs["batches"]):
            wall, cpu = time.perf_counter(), time.process_time()
            await asyncio.gather(*(one(i) for i in batch))
            if index:  # the first warms the pool
                walls.append(time.perf_counter() - wall)
                cpus.append(time.process_time() - cpu)
        await store.close()
        return {"wall": walls, "cpu": cpus, "sends": 0, "rss_mb": peak_rss_mb()}

    return asyncio.new_event_loop().run_until_complete(measure())


def peak_rss_mb() -> float:
    from bench.process_memory import memory_mb

    return memory_mb("VmHWM")


# --- the parent: a job store, queues, events, one process per measurement ---------------------------


@dataclass(frozen=True)
class Measured:
    """One function's warm invocations: medians per invocation, and the runs each one serves."""

    wall: float
    cpu: float
    sends: float  # SQS requests it made, per invocation
    rss_mb: float
    runs: int

    @classmethod
    def of(cls, result: dict[str, Any], runs: int) -> Measured:
        invocations = len(result["wall"])
        return cls(
            statistics.median(result["wall"]),
            statistics.median(result["cpu"]),
            result["sends"] / invocations,
            result["rss_mb"],
            runs,
        )

    def billed_seconds(self, memory_mb: int) -> float:
        stretched = self.wall + self.cpu * max(0.0, FULL_VCPU_MB / memory_mb - 1)
        return math.ceil(stretched * 1000) / 1000


class Fixture:
    """The job store and queues the functions run against, and the events of each measurement."""

    def __init__(self, database_url: str, queues: dict[str, str]) -> None:
        import asyncio

        from jobu.store import open_store

        self.url, self.queues = database_url, queues
        self.loop = asyncio.new_event_loop()
        self.store = self.loop.run_until_complete(open_store(database_url))
        self.loop.run_until_complete(self.store.migrate())
        self.offset = 0
        self.tick = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=5)

    def close(self) -> None:
        self.loop.run_until_complete(self.store.close())
        self.loop.close()

    def _runs(self, count: int) -> list[int]:
        from bench.runs import sample_run

        first = self.offset + 1
        self.offset += count
        runs = [sample_run(i, "bench-cost") for i in range(first, first + count)]
        created = self.loop.run_until_complete(self.store.runs.insert_events(runs, now=datetime.now(UTC)))
        return [run.id for run in created]

    def worker_events(self, count: int, batch: int) -> list[dict[str, Any]]:
        from tests.support.lambda_events import sqs_event

        def event(ids: list[int]) -> dict[str, Any]:
            messages = [
                {
                    "MessageId": f"m-{i}",
                    "ReceiptHandle": "h",
                    "Body": json.dumps({"execution_id": i, "attempt": 0}),
                }
                for i in ids
            ]
            return sqs_event(messages, "arn:aws:sqs:us-east-1:000000000000:jobu-work")

        return [event(self._runs(batch)) for _ in range(count)]

    def floor_batches(self, count: int, batch: int) -> list[list[int]]:
        return [self._runs(batch) for _ in range(count)]

    def kafka_events(self, count: int, records: int) -> list[dict[str, Any]]:
        def record(offset: int) -> dict[str, Any]:
            value = json.dumps({"handler_name": "sample", "params": {"id": offset}, "job_id": None})
            return {
                "topic": "jobu-events",
                "partition": 0,
                "offset": offset,
                "timestamp": int(time.time() * 1000),
                "timestampType": "CREATE_TIME",
                "key": None,
                "value": base64.b64encode(value.encode()).decode(),
                "headers": [],
            }

        events = []
        for _ in range(count):
            first = self.offset + 1
            self.offset += records
            batch = [record(offset) for offset in range(first, first + records)]
            events.append({"eventSource": "aws:kafka", "records": {"jobu-events-0": batch}})
        return events

    def cron_events(self, count: int, due: int) -> list[dict[str, Any]]:
        """Ticks a minute apart, each with `due` jobs of their own due at that minute only."""
        from jobu.specs import CronJobSpec

        events = []
        for _ in range(count):
            self.tick += timedelta(minutes=1)
            tick = self.tick
            for index in range(due):
                spec = CronJobSpec(
                    name=f"cost-{tick:%H%M}-{index}",
                    cron_expression=f"{tick.minute} {tick.hour} {tick.day} {tick.month} *",
                    handler_name="sample",
                )
                self.loop.run_until_complete(self.store.cron_jobs.insert(spec, next_run_at=tick, now=tick))
            events.append({"scheduled_time": tick.isoformat().replace("+00:00", "Z")})
        return events

    def run_now_events(self, count: int) -> list[dict[str, Any]]:
        from jobu.specs import CronJobSpec

        spec = CronJobSpec(
            name=f"cost-run-now-{uuid.uuid4().hex[:6]}", cron_expression="0 0 1 1 *", handler_name="sample"
        )
        job = self.loop.run_until_complete(
            self.store.cron_jobs.insert(spec, next_run_at=None, now=datetime.now(UTC))
        )
        template: dict[str, Any] = json.loads((ROOT / "events" / "admin_api_create_cron.json").read_text())

        def event() -> dict[str, Any]:
            request: dict[str, Any] = json.loads(json.dumps(template))
            path = f"/api/crons/{job.id}/run"
            request.update(rawPath=path, rawQueryString="", body=json.dumps({"params": {"name": "now"}}))
            request["pathParameters"] = {"proxy": path.lstrip("/")}
            request["requestContext"]["http"].update(method="POST", path=path)
            request["requestContext"]["requestId"] = uuid.uuid4().hex
            return request

        return [event() for _ in range(count)]


def environment(kind: str, database_url: str, queues: dict[str, str]) -> dict[str, str]:
    return process_environment(LOGICAL_IDS[kind], database_url, queues)


def measure(invocations: int) -> dict[str, Measured]:
    sqs = sqs_client()
    with pool_queues(sqs, "jobu-cost") as queues:
        return measured(invocations, queues)


def measured(invocations: int, queues: dict[str, str]) -> dict[str, Measured]:
    from bench.scratch_database import fresh_postgres_sync

    pool_size = function_setting("WorkerFunction", "JOBU_DATABASE_POOL_SIZE")
    batch = worker_batch_size()
    found: dict[str, Measured] = {}
    with fresh_postgres_sync("cost") as url:
        fixture = Fixture(url, queues)
        try:
            plans: list[tuple[str, str, Callable[[], dict[str, Any]], int]] = [
                (
                    "worker",
                    "worker",
                    lambda: {"events": fixture.worker_events(invocations + 1, batch)},
                    batch,
                ),
                (
                    "floor",
                    "floor",
                    lambda: {
                        "batches": fixture.floor_batches(invocations + 1, 10),
                        "database_url": url,
                        "pool_size": pool_size,
                    },
                    10,
                ),
                ("kafka-100", "queue_dispatcher", lambda: {"events": fixture.kafka_events(11, 100)}, 100),
                (
                    "kafka-1000",
                    "queue_dispatcher",
                    lambda: {"events": fixture.kafka_events(6, 1000)},
                    1000,
                ),
                ("cron-100", "cron_dispatcher", lambda: {"events": fixture.cron_events(11, 100)}, 100),
                ("cron-1000", "cron_dispatcher", lambda: {"events": fixture.cron_events(6, 1000)}, 1000),
                ("enqueue", "admin_api", lambda: {"events": fixture.run_now_events(invocations + 1)}, 1),
            ]
            for name, kind, inputs, runs in plans:
                result = run_child(__file__, kind, inputs(), environment(kind, url, queues))
                found[name] = Measured.of(result, runs)
        finally:
            fixture.close()
    return found


# --- the template: memory sizes, architecture, batch sizes -----------------------------------------


def _template() -> Any:
    from jobu_local.template.reader import LocalTemplate

    return LocalTemplate.load(ROOT / "template.yaml")


def memory_of(logical_id: str) -> int:
    return int(_template().function(logical_id).config.memory_mb)


def function_setting(logical_id: str, name: str) -> str:
    return str(_template().function(logical_id).config.environment[name])


def worker_batch_size() -> int:
    (source,) = _template().function("WorkerFunction").sqs
    return int(source.batch_size)


def architecture() -> str:
    (found,) = _template().document["Globals"]["Function"]["Architectures"]
    return str(found)


# --- the bill ----------------------------------------------------------------------------------------


@dataclass
class Bill:
    """The cost of one million runs, by component."""

    parts: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.parts.values())


def lambda_part(measured: Measured, memory_mb: int, gb_second: float) -> tuple[float, float]:
    """(requests, GB-seconds) cost of a million runs of one function."""
    invocations = 1e6 / measured.runs
    seconds = invocations * measured.billed_seconds(memory_mb) * memory_mb / 1024
    return invocations * LAMBDA_PER_REQUEST, seconds * gb_second


def path_bill(
    found: dict[str, Measured], dispatch: str, dispatcher: str, memories: dict[str, int], gb_second: float
) -> Bill:
    """A million runs in by `dispatch` (a measurement), worked by the default pool's worker."""
    worker, way_in = found["worker"], found[dispatch]
    parts: dict[str, float] = {}
    requests, seconds = lambda_part(way_in, memories[dispatcher], gb_second)
    parts[f"Lambda requests, {LOGICAL_IDS[dispatcher]}"] = requests
    parts[f"Lambda GB-s, {LOGICAL_IDS[dispatcher]} ({memories[dispatcher]} MB)"] = seconds
    requests, seconds = lambda_part(worker, memories["worker"], gb_second)
    parts["Lambda requests, WorkerFunction"] = requests
    parts[f"Lambda GB-s, WorkerFunction ({memories['worker']} MB)"] = seconds
    sends = way_in.sends / way_in.runs
    # the worker's event source mapping: a receive and a batch delete per batch of the worker's
    receives = 2 / worker.runs
    parts[f"SQS: sends ({sends:.2f}/run), receives and deletes ({receives:.2f}/run)"] = (
        (sends + receives) * 1e6 * SQS_PER_REQUEST
    )
    if dispatcher == "admin_api":
        parts["API Gateway HTTP API requests"] = 1e6 * HTTP_API_PER_REQUEST
    return Bill(parts)


def floor_bill(found: dict[str, Measured], memories: dict[str, int], gb_second: float) -> Bill:
    requests, seconds = lambda_part(found["floor"], memories["worker"], gb_second)
    return Bill(
        {
            "Lambda requests (1 per 10 runs)": requests,
            f"Lambda GB-s (claim + outcome of 10 runs, {memories['worker']} MB)": seconds,
            "SQS requests (2 per 10 runs)": 0.2 * 1e6 * SQS_PER_REQUEST,
        }
    )


def memory_rule(measured: Measured) -> int:
    """The smallest memory size at which the function fits twice over and runs at most twice as long
    as with a whole vCPU."""
    fastest = measured.billed_seconds(FULL_VCPU_MB)
    for size in MEMORY_SIZES:
        if measured.rss_mb <= size * RSS_SHARE and measured.billed_seconds(size) <= SLOWDOWN * fastest:
            return size
    return MEMORY_SIZES[-1]


def money(value: float) -> str:
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def report(found: dict[str, Measured]) -> None:
    arch = architecture()
    gb_second = LAMBDA_PER_GB_SECOND[arch]
    memories = {kind: memory_of(logical_id) for kind, logical_id in LOGICAL_IDS.items()}
    print(f"prices: us-east-1 as of {PRICES_AS_OF}, {arch}; memory sizes and batch sizes from template.yaml")
    print(f"{'measured (warm, median)':<28}{'runs':>6}{'wall ms':>9}{'cpu ms':>8}{'SQS/inv':>9}{'RSS MB':>8}")
    for name, measured in found.items():
        print(
            f"{name:<28}{measured.runs:>6}{measured.wall * 1000:>9.1f}{measured.cpu * 1000:>8.1f}"
            f"{measured.sends:>9.1f}{measured.rss_mb:>8.0f}"
        )
    print("what a million runs costs at each memory size (the rest of its path as in the template):")
    choices = {
        "worker": "kafka-100",
        "queue_dispatcher": "kafka-100",
        "cron_dispatcher": "cron-100",
        "admin_api": "enqueue",
    }
    dispatchers = {"kafka-100": "queue_dispatcher", "cron-100": "cron_dispatcher", "enqueue": "admin_api"}
    for kind, path in choices.items():
        cells = []
        for size in MEMORY_SIZES:
            bill = path_bill(found, path, dispatchers[path], memories | {kind: size}, gb_second)
            duration = found["worker" if kind == "worker" else path].billed_seconds(size)
            cells.append(f"{size} MB {money(bill.total)} ({duration * 1000:.0f} ms)")
        print(f"  {LOGICAL_IDS[kind]:<24} ({path}): " + "; ".join(cells))
    print("memory sizes chosen by the rule (RSS <= half, duration <= 2x a vCPU's) and the template's:")
    for kind, path in choices.items():
        measured = found["worker" if kind == "worker" else path]
        chosen = memory_rule(measured)
        agrees = "as the template" if chosen == memories[kind] else f"the template has {memories[kind]} MB"
        print(f"  {LOGICAL_IDS[kind]:<24} {chosen} MB ({agrees})")
    floor = floor_bill(found, memories, gb_second)
    paths = {
        "cron, ticks of 100 due": ("cron-100", "cron_dispatcher"),
        "cron, ticks of 1,000 due": ("cron-1000", "cron_dispatcher"),
        "Kafka, batches of 100": ("kafka-100", "queue_dispatcher"),
        "Kafka, batches of 1,000": ("kafka-1000", "queue_dispatcher"),
        "enqueue (run now: one HTTP request per run)": ("enqueue", "admin_api"),
    }
    print(f"one million runs of `sample`, by component ({arch}, the template's memory sizes):")
    ratios = {}
    for label, (name, dispatcher) in paths.items():
        bill = path_bill(found, name, dispatcher, memories, gb_second)
        ratios[label] = bill.total / floor.total
        print(f"  {label}: {money(bill.total)}, {ratios[label]:.2f}x the floor")
        for part, value in bill.parts.items():
            print(f"    {part:<62}{money(value):>12}")
        figure(
            f"cost of 1,000,000 runs: {label}",
            money(bill.total),
            f"1 invocation + 2 SQS requests per 10 runs: {money(floor.total)}",
            f"{ratios[label]:.2f}x",
            "",
        )
    print(f"  floor: {money(floor.total)}")
    for part, value in floor.parts.items():
        print(f"    {part:<62}{money(value):>12}")
    worst = max(ratios["cron, ticks of 100 due"], ratios["Kafka, batches of 100"])
    print(f"ratio {worst:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invocations", type=int, default=20)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, json.loads(sys.stdin.read()))))
        return
    subprocess.run([str(ROOT / "scripts" / "localstack.sh")], check=True, stdout=subprocess.DEVNULL)
    report(measure(args.invocations))


if __name__ == "__main__":
    main()
