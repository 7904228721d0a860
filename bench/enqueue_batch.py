"""The enqueue API's batch against the queue dispatcher: 500 runs made and queued either way.

Ours: `POST /api/runs/batch` of 500 run requests (`sample`, the same params as the records) through
functions/admin_api/app.py's `handler`, as API Gateway's HTTP API hands it the request (payload 2.0,
the IAM principal in its context): the body read and every request checked as a Kafka record is,
one transaction for the 500 inserts and their audit rows (one each: who enqueued it), the messages
sent in SendMessageBatch calls after the commit, one result per request answered.

The baseline, in the same run, on the same database and SQS: the same 500 runs made and sent by
the queue dispatcher's path, one MSK event of 500 records through functions/queue_dispatcher/app.py's
`handler` (parse and check every record, one multi-row INSERT, concurrent SendMessageBatch calls,
queued_at recorded): the path the API's batch is meant to match. `ratio` is the dispatcher's time
over ours, i.e. our runs/s over its runs/s (target >= 0.8).

Both functions run in this process with the template's environment (each its own container and
pool, of the template's size), logging at INFO as deployed (the lines are formatted, then dropped).
SQS is LocalStack's (scripts/localstack.sh starts it when it is not running); each function has a
queue of its own for this run, deleted at the end. The database is a fresh one of this run's own on
each backend asked (PostgreSQL by default; `--backends postgres mysql sqlite` for all three),
dropped at the end. Ours and the baseline take turns --repeat times after a warm-up of each; medians
count. Every measurement checks that all 500 runs were made and queued.

    .venv/bin/python bench/enqueue_batch.py [--runs 500] [--repeat 5] [--backends postgres ...]

Last line: `ratio X`, on PostgreSQL (or the first backend given).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import statistics
import subprocess
import time
import uuid
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import boto3

from bench.queue_dispatch import msk_event
from bench.scratch_database import fresh_database
from bench.table import figure
from tests.support.function_environment import function_environment
from tests.support.lambda_events import Context

ROOT = Path(__file__).resolve().parents[1]
LOCALSTACK = "http://127.0.0.1:4566"
REMAINING_MS = 28_000


def requests(count: int) -> list[dict[str, Any]]:
    # the records' params (bench/queue_dispatch.msk_event)
    return [{"handler_name": "sample", "params": {"id": i, "name": f"item-{i}"}} for i in range(count)]


def batch_event(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """POST /api/runs/batch as API Gateway's HTTP API hands it to the function (payload 2.0, the IAM
    principal in its context): events/admin_api_create_cron.json with its request replaced."""
    event: dict[str, Any] = json.loads((ROOT / "events" / "admin_api_create_cron.json").read_text())
    path, body = "/api/runs/batch", json.dumps({"runs": runs})
    event.update(rawPath=path, rawQueryString="", body=body, pathParameters={"proxy": path.lstrip("/")})
    event["headers"]["content-length"] = str(len(body.encode()))
    event["requestContext"]["http"].update(method="POST", path=path)
    event["requestContext"]["requestId"] = uuid.uuid4().hex
    return event


class Bench:
    def __init__(self, url: str, queues: dict[str, str]) -> None:
        self.url = url
        self.queues = queues
        self.apps: dict[str, Any] = {}
        for function, module in (
            ("AdminApiFunction", "functions.admin_api.app"),
            ("QueueDispatcherFunction", "functions.queue_dispatcher.app"),
        ):
            queue = queues[function]
            os.environ.update(
                function_environment(
                    function=function,
                    JOBU_DATABASE_URL=url,
                    JOBU_WORK_QUEUE_URL=queue,
                    JOBU_WORK_QUEUE_URL_PIPELINE=queue,
                    JOBU_DEAD_LETTER_QUEUE_URL=queue,
                    JOBU_DEAD_LETTER_QUEUE_URL_PIPELINE=queue,
                    AWS_ENDPOINT_URL=LOCALSTACK,
                    AWS_DEFAULT_REGION="us-east-1",
                    AWS_ACCESS_KEY_ID="test",
                    AWS_SECRET_ACCESS_KEY="test",
                    POWERTOOLS_METRICS_NAMESPACE="jobu-bench",
                    AWS_LAMBDA_LOG_LEVEL="INFO",
                )
            )
            app = importlib.import_module(module)
            app.container.reset()  # a container of this database's, made with this environment
            app.container.config  # noqa: B018  # read now: the next function's environment replaces this one
            self.apps[function] = app
        admin = self.apps["AdminApiFunction"]
        store = admin.container.run(admin.container.store())
        admin.container.run(store.migrate())

    def ours(self, count: int) -> float:
        event = batch_event(requests(count))
        started = time.perf_counter()
        answer = self.apps["AdminApiFunction"].handler(event, Context("jobu-AdminApiFunction", REMAINING_MS))
        elapsed = time.perf_counter() - started
        results = json.loads(answer["body"])["results"] if answer["statusCode"] == 200 else []
        queued = [r for r in results if "run" in r and r["run"]["queued_at"] is not None]
        if len(queued) != count:
            raise RuntimeError(
                f"the batch made and queued {len(queued)} of {count} runs: {answer['body'][:300]}"
            )
        return elapsed

    def baseline(self, count: int) -> float:
        event = msk_event(f"bench-{uuid.uuid4().hex[:8]}", count)
        started = time.perf_counter()
        report = self.apps["QueueDispatcherFunction"].handler(
            event, Context("jobu-QueueDispatcherFunction", REMAINING_MS)
        )
        elapsed = time.perf_counter() - started
        if len(report["dispatched"]) != count:
            raise RuntimeError(f"the dispatcher made and queued {len(report['dispatched'])} of {count} runs")
        return elapsed

    def close(self) -> None:
        for app in self.apps.values():
            app.container.reset()


def measure(url: str, sqs: Any, args: argparse.Namespace, bench_class: type[Bench]) -> dict[str, list[float]]:
    tag = uuid.uuid4().hex[:8]
    queues = {
        function: str(sqs.create_queue(QueueName=f"jobu-bench-{function}-{tag}")["QueueUrl"])
        for function in ("AdminApiFunction", "QueueDispatcherFunction")
    }
    bench = bench_class(url, queues)
    try:
        bench.ours(20)  # warm: the pool, the SQS client, imports, the statements' plans
        bench.baseline(20)
        times: dict[str, list[float]] = {"ours": [], "baseline": []}
        for _ in range(args.repeat):
            times["ours"].append(bench.ours(args.runs))
            times["baseline"].append(bench.baseline(args.runs))
        return times
    finally:
        bench.close()
        for queue in queues.values():
            sqs.delete_queue(QueueUrl=queue)


async def in_database(
    backend: str, sqs: Any, args: argparse.Namespace, name: str, bench_class: type[Bench]
) -> dict[str, list[float]]:
    async with fresh_database(backend, name) as url:
        # the functions run their own event loops (Container.run): this one only holds the database
        return await asyncio.to_thread(measure, url, sqs, args, bench_class)


def against_the_dispatcher(
    doc: str | None, name: str, bench_class: type[Bench], route: str, subject: str, *, runs: int, repeat: int
) -> None:
    """A `main`: `bench_class`'s way in (`route`) against the queue dispatcher's, per backend, with
    the table's figure (`subject`) and the last line `ratio X` of the first backend."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=runs)
    parser.add_argument("--repeat", type=int, default=repeat)
    parser.add_argument(
        "--backends", nargs="+", default=["postgres"], choices=["postgres", "mysql", "sqlite"]
    )
    args = parser.parse_args()
    subprocess.run([str(ROOT / "scripts" / "localstack.sh")], check=True, stdout=subprocess.DEVNULL)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    sqs = boto3.client(
        "sqs",
        endpoint_url=LOCALSTACK,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    from jobu.observability import logger

    ratios: dict[str, float] = {}
    devnull = open(os.devnull, "w")  # noqa: SIM115  # the loggers' stream for the whole run
    # the log lines are formatted as deployed, then dropped (EMF metrics go to stdout)
    logger.registered_handler.setStream(devnull)  # type: ignore[attr-defined]
    for backend in args.backends:
        with redirect_stdout(devnull):
            times = asyncio.run(in_database(backend, sqs, args, name, bench_class))
        ours, baseline = statistics.median(times["ours"]), statistics.median(times["baseline"])
        ratios[backend] = baseline / ours
        n = args.runs
        print(f"{backend}: {n} runs, LocalStack SQS, medians of {args.repeat}")
        print(f"  ours: {route:<28}{ours * 1000:8.1f} ms {n / ours:8,.0f} runs/s")
        print(f"  baseline: one MSK event, {n} records {baseline * 1000:6.1f} ms {n / baseline:8,.0f} runs/s")
        print(f"  (ours: {', '.join(f'{t * 1000:.0f}' for t in times['ours'])} ms; baseline: "
              f"{', '.join(f'{t * 1000:.0f}' for t in times['baseline'])} ms)")  # fmt: skip
        figure(
            f"{subject}, {route} of {n:,} runs, {backend}",
            f"{n / ours:,.0f} runs/s ({ours * 1000:.0f} ms)",
            f"queue dispatcher, {n:,} records: {n / baseline:,.0f} runs/s ({baseline * 1000:.0f} ms)",
            f"{ratios[backend]:.2f}x the dispatcher",
            ">= 0.8x",
        )
    print(f"ratio {ratios[args.backends[0]]:.2f}")


def main() -> None:
    against_the_dispatcher(
        __doc__, "enqueue_batch", Bench, "POST /api/runs/batch", "enqueue API", runs=500, repeat=5
    )


if __name__ == "__main__":
    main()
