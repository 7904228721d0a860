"""The local runtime end to end: a burst of Kafka messages, from produce to SUCCESS.

Runs the template's queue dispatcher and worker under the local runtime (embedded moto server and
Tansu, a fresh PostgreSQL database each mode), produces N job messages as fast as the producer
goes, and times each message from its send to its run's finished_at. Twice, in the same run:

- ours: containers as the template allows (the worker up to its SQS MaximumConcurrency, pollers
  scaling with the backlog), as Lambda runs them;
- baseline: one container per function (`--max-concurrency 1`), one invocation at a time.

Each mode runs a cold burst (a fresh runtime: every container starts cold) and then, on a runtime
that has just served a burst, a warm one. Prints p50 / p99 / max latency and throughput of each;
the last line is `ratio X`, ours over the baseline's throughput on the warm bursts (the cold ones'
ratio is printed above it). Targets (issue 13): p50 < 1 s, p99 < 3 s, ratio >= 10.

    .venv/bin/python bench/local_e2e.py [--messages 300] [--parameter-overrides Name=Value ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaProducer

from jobu.store import open_store
from jobu_local.runtime.runtime import LocalRuntime, RuntimeOptions

ROOT = Path(__file__).resolve().parents[1]
ADMIN_URL = os.environ.get("JOBU_BENCH_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TOPIC = "jobu-events"
FINISHED = {"SUCCESS", "FAILED", "TIMEOUT"}
# The template's KafkaBatchingWindowSeconds (1) makes every record of a burst wait up to a second
# for its batch, on Lambda as here; 0 invokes with what has arrived. Pass --parameter-overrides to
# measure other settings (with no arguments: the template's defaults).
DEFAULT_OVERRIDES = {"KafkaBatchingWindowSeconds": "0"}


@dataclass(frozen=True)
class Result:
    label: str
    latencies: list[float]
    seconds: float
    containers: int
    pollers: int
    warm: bool

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds

    def line(self) -> str:
        ordered = sorted(self.latencies)
        label = f"{self.label} {'warm' if self.warm else 'cold'}"
        p99 = ordered[min(len(ordered) - 1, round(0.99 * len(ordered)) - 1)]
        return (
            f"{label:<13} p50 {statistics.median(ordered):6.3f} s  p99 {p99:6.3f} s  "
            f"max {ordered[-1]:6.3f} s  {self.throughput:7.1f} runs/s  "
            f"(worker containers {self.containers}, SQS pollers at most {self.pollers})"
        )


@asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """A PostgreSQL database of this run's own, dropped afterwards whatever happens."""
    name = f"jobu_bench_local_e2e_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def produce(servers: str, count: int, tag: str) -> dict[int, float]:
    """Send `count` messages at once; {sequence number: send time}."""
    producer = AIOKafkaProducer(bootstrap_servers=servers, acks="all", linger_ms=0)
    await producer.start()
    sent: dict[int, float] = {}
    try:
        pending = []
        for number in range(count):
            message = {"handler_name": "sample", "params": {"name": tag, "id": number}, "job_id": None}
            sent[number] = time.time()
            pending.append(await producer.send(TOPIC, json.dumps(message).encode()))
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return sent


async def finished_at(database_url: str, tag: str, count: int, within: float) -> dict[int, float]:
    """{sequence number: finished_at} once every run of the burst `tag` has finished."""
    store = await open_store(database_url)
    deadline = time.monotonic() + within
    try:
        while True:
            runs = await store.runs.list_recent(handler_name="sample", limit=10 * count)
            done = [
                run
                for run in runs
                if run.params.get("name") == tag
                and run.status.value in FINISHED
                and run.finished_at is not None
            ]
            if len(done) >= count:
                failed = [run.id for run in done if run.status.value != "SUCCESS"]
                if failed:
                    raise SystemExit(f"runs did not succeed: {failed[:10]}")
                return {int(run.params["id"]): run.finished_at.timestamp() for run in done}  # type: ignore[union-attr]
            if time.monotonic() > deadline:
                raise SystemExit(f"only {len(done)} of {count} runs finished within {within:.0f} s")
            await asyncio.sleep(0.25)  # finished_at comes from the database: polling less often costs nothing
    finally:
        await store.close()


async def measure(
    label: str, count: int, max_concurrency: int | None, overrides: dict[str, str], *, warm: bool
) -> Result:
    async with fresh_database() as database_url:
        with tempfile.TemporaryDirectory(prefix="jobu-bench-") as state:
            runtime = LocalRuntime(
                RuntimeOptions(
                    template_path=ROOT / "template.yaml",
                    functions=["queue-dispatcher", "worker"],
                    state_dir=Path(state),
                    database_url=database_url,
                    schedule=False,
                    parameter_overrides=overrides,
                    max_concurrency=max_concurrency,
                )
            )
            await runtime.start()
            try:
                if warm:
                    # a burst first, unmeasured, so the measured one finds the containers warm
                    await produce(runtime.bootstrap_servers, count, "warm-up")
                    await finished_at(database_url, "warm-up", count, within=60 + count)
                sent = await produce(runtime.bootstrap_servers, count, label)
                finished = await finished_at(database_url, label, count, within=60 + count)
            finally:
                await runtime.stop()
            worker = runtime.functions["WorkerFunction"]
            pollers = max((runner.pollers_peak for runner in runtime.sqs_runners), default=0)
    latencies = [finished[number] - sent[number] for number in sent]
    seconds = max(finished.values()) - min(sent.values())
    return Result(label, latencies, seconds, len(worker.containers), pollers, warm)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument(
        "--parameter-overrides",
        nargs="*",
        default=[f"{name}={value}" for name, value in DEFAULT_OVERRIDES.items()],
        metavar="NAME=VALUE",
    )
    args = parser.parse_args()
    overrides = dict(item.split("=", 1) for item in args.parameter_overrides)
    print(f"{args.messages} messages, produce -> SUCCESS; template parameters: {overrides or 'defaults'}")
    results: dict[tuple[str, bool], Result] = {}
    for label, max_concurrency in (("ours", None), ("baseline", 1)):
        for warm in (False, True):
            result = asyncio.run(measure(label, args.messages, max_concurrency, overrides, warm=warm))
            results[label, warm] = result
            print(result.line(), flush=True)
    cold = results["ours", False].throughput / results["baseline", False].throughput
    print(f"cold bursts: ours / baseline throughput {cold:.1f}")
    print(f"ratio {results['ours', True].throughput / results['baseline', True].throughput:.1f}")


if __name__ == "__main__":
    main()
