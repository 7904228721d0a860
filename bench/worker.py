"""Worker throughput against its database floor: `sample` messages through the worker's entry point.

Ours: N `sample` messages (default 1,000) through functions/worker/app.py's `handler`, in SQS events
of 10 records as the SQS event source mapping builds them (Powertools' batch processor, the claim,
the handler, the outcome, logging at INFO as deployed, metrics), one invocation after another.

The floor, on the same pool of the same container, in the same run: per message only the two
statements a run cannot do without, the claim (returning the run) and the outcome, each on a
connection from the pool, the 10 messages of a batch at once as the worker runs them. The database
is a fresh PostgreSQL database of this run's own (dropped at the end); the pool has the template's
WorkerPool size (2). Ours and the floor take turns every 100 messages (so a shared machine's load
falls on both alike); the whole is repeated --repeat times and medians count. Also printed: the
statements each run sent, counted on the pool's connections.

    .venv/bin/python bench/worker.py [--messages 1000] [--batch 10] [--pool-size 2] [--repeat 3]

Last line: `ratio X`, our runs/s over the floor's (target >= 0.8).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack, redirect_stdout
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.runs import sample_run
from bench.scratch_database import fresh_postgres_sync
from bench.table import figure
from tests.support.function_environment import function_environment
from tests.support.lambda_events import Context, sqs_event

MARGIN = timedelta(seconds=5)  # the worker's TIMEOUT_MARGIN_SECONDS
REMAINING_MS = 60_000
SLICE = 100  # messages timed at a time, alternating ours and the floor


def configure(url: str, pool_size: int) -> None:
    """The worker function's environment, as the template sets it (the queues are never called:
    a `sample` run that succeeds sends nothing)."""
    os.environ.update(
        function_environment(
            JOBU_DATABASE_URL=url,
            JOBU_DATABASE_POOL_SIZE=str(pool_size),
            JOBU_WORK_QUEUE_URL="http://127.0.0.1:4566/000000000000/jobu-bench-unused",
            JOBU_DEAD_LETTER_QUEUE_URL="http://127.0.0.1:4566/000000000000/jobu-bench-unused-dlq",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            POWERTOOLS_METRICS_NAMESPACE="jobu-bench",
            AWS_LAMBDA_LOG_LEVEL="INFO",
        )
    )


class Bench:
    def __init__(self, app: Any, batch: int) -> None:
        self.app = app
        self.container = app.container
        self.batch = batch
        self.store = self.container.run(self.container.store())
        self._offset = 0

    def new_runs(self, count: int) -> list[int]:
        """PENDING event runs, as the queue dispatcher writes them (not timed)."""
        first = self._offset + 1
        self._offset += count
        runs = [
            sample_run(i, "bench-worker", {"id": i, "name": f"item-{i}"}) for i in range(first, first + count)
        ]
        created = self.container.run(self.store.runs.insert_events(runs, now=datetime.now(UTC)))
        return [run.id for run in created]

    def batches(self, ids: list[int]) -> list[list[int]]:
        return [ids[i : i + self.batch] for i in range(0, len(ids), self.batch)]

    def ours(self, ids: list[int]) -> float:
        events = [
            sqs_event(
                [
                    {
                        "MessageId": str(uuid.uuid4()),
                        "ReceiptHandle": f"handle-{i}",
                        "Body": json.dumps({"execution_id": i, "attempt": 0}),
                        "Attributes": {"ApproximateReceiveCount": "1"},
                    }
                    for i in chunk
                ],
                "arn:aws:sqs:us-east-1:000000000000:jobu-work",
            )
            for chunk in self.batches(ids)
        ]
        started = time.perf_counter()
        for event in events:
            response = self.app.handler(event, Context("jobu-WorkerFunction", REMAINING_MS))
            if response["batchItemFailures"]:
                raise RuntimeError(f"the worker reported failures: {response}")
        return time.perf_counter() - started

    def floor(self, ids: list[int]) -> float:
        connector, queries = self.store.connector, self.store.connector.jobu_queries

        async def run(execution_id: int) -> None:
            now = datetime.now(UTC)
            async with connector.connection() as conn:
                claimed = await queries.claim_execution(
                    conn,
                    id=execution_id,
                    attempt=0,
                    now=now,
                    timeout_base=now + MARGIN,
                    deadline_at=now + timedelta(milliseconds=REMAINING_MS),
                )
            assert claimed is not None
            async with connector.connection() as conn:
                await queries.finish_execution(
                    conn,
                    id=execution_id,
                    attempt=0,
                    status="SUCCESS",
                    result={"action": "read", "success": True, "id": execution_id},
                    error_message=None,
                    now=datetime.now(UTC),
                )

        async def batch(chunk: list[int]) -> None:
            await asyncio.gather(*(run(i) for i in chunk))

        started = time.perf_counter()
        for chunk in self.batches(ids):
            self.container.run(batch(chunk))
        return time.perf_counter() - started

    def succeeded(self, ids: list[int]) -> int:
        async def count() -> int:
            async with self.store.connector.connection() as conn:
                found: int = await conn.fetchval(
                    "SELECT count(*) FROM job_executions WHERE id = ANY($1) AND status = 'SUCCESS'", ids
                )
                return found

        result: int = self.container.run(count())
        return result

    def statements_per_run(self, measure: Callable[[list[int]], float], runs: int) -> float:
        """Statements the pool's connections ran for `runs` runs, per run."""
        statements: list[str] = []

        def log(logged: Any) -> None:
            statements.append(logged.query)

        async def on_every_connection(change: Callable[[Any], None]) -> None:
            # hold every connection the pool can have at once, so each is reached
            async with AsyncExitStack() as held:
                for _ in range(self.container.config.pool_size):
                    change(await held.enter_async_context(self.store.connector.connection()))

        self.container.run(on_every_connection(lambda conn: conn.add_query_logger(log)))
        measure(self.new_runs(runs))
        count = len(statements)
        self.container.run(on_every_connection(lambda conn: conn.remove_query_logger(log)))
        return count / runs


def timed(label: str, measure: Callable[[list[int]], float], bench: Bench, count: int) -> float:
    ids = bench.new_runs(count)
    seconds = measure(ids)
    done = bench.succeeded(ids)
    if done != count:
        raise RuntimeError(f"{label}: {done} of {count} runs ended SUCCESS")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--pool-size", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with fresh_postgres_sync("worker") as url:
        configure(url, args.pool_size)
        app = importlib.import_module("functions.worker.app")
        from jobu.observability import logger

        with open(os.devnull, "w") as devnull, redirect_stdout(devnull):
            # the log lines are formatted as deployed, then dropped (EMF metrics go to stdout)
            logger.registered_handler.setStream(devnull)  # type: ignore[attr-defined]
            store = app.container.run(app.container.store())
            app.container.run(store.migrate())
            bench = Bench(app, args.batch)
            timed("warm-up", bench.ours, bench, 100)
            timed("warm-up", bench.floor, bench, 100)
            times: dict[str, list[float]] = {"ours": [], "floor": []}
            for _ in range(args.repeat):
                # in slices of 100 messages, ours and the floor in turn: on a shared machine both
                # then run under the same load
                spent = {"ours": 0.0, "floor": 0.0}
                for _ in range(0, args.messages, SLICE):
                    spent["ours"] += timed("ours", bench.ours, bench, SLICE)
                    spent["floor"] += timed("floor", bench.floor, bench, SLICE)
                times["ours"].append(spent["ours"])
                times["floor"].append(spent["floor"])
            per_run = {"ours": bench.statements_per_run(bench.ours, 100)}
            per_run["floor"] = bench.statements_per_run(bench.floor, 100)
            app.container.close()
            logger.registered_handler.setStream(sys.stdout)  # type: ignore[attr-defined]

    rates = {kind: args.messages / statistics.median(seconds) for kind, seconds in times.items()}
    print(
        f"messages: {args.messages} `sample` runs, SQS batches of {args.batch}, pool of {args.pool_size} "
        f"(PostgreSQL), medians of {args.repeat}"
    )
    for kind, label in (("ours", "worker entry point"), ("floor", "floor: claim + outcome only")):
        print(
            f"{label:<30} {rates[kind]:>8,.0f} runs/s  {per_run[kind]:.1f} statements per run "
            f"(times: {', '.join(f'{s:.3f}' for s in times[kind])} s)"
        )
    ratio = rates["ours"] / rates["floor"]
    figure(
        f"worker, {args.messages:,} `sample` messages in batches of {args.batch}",
        f"{rates['ours']:,.0f} runs/s, {per_run['ours']:.1f} statements per run",
        f"claim + outcome on the same pool: {rates['floor']:,.0f} runs/s",
        f"{ratio:.2f}",
        ">= 0.8",
    )
    print(f"ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
