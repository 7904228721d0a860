"""A batch of runs against the queue dispatcher: 10,000 runs made and queued either way.

Ours: `POST /api/batches` of 10,000 run requests (`sample`, the same params as the records) with an
`on_complete` callback, through functions/admin_api/app.py's `handler` as API Gateway's HTTP API
hands it the request (payload 2.0, the IAM principal in its context): the body read and every
request checked as a Kafka record is, the batch row and its runs inserted in one transaction (500
rows a statement) with one audit row, the messages sent in SendMessageBatch calls after the commit.

The baseline, in the same run, on the same database and SQS: the same runs made and sent by the
queue dispatcher's path, one MSK event of as many records through functions/queue_dispatcher/app.py's
`handler` (bench/enqueue_batch.py's). `ratio` is the dispatcher's time over ours. The API Gateway
HTTP API gives a request 30 s: the figures say how far from that a full batch is.

    .venv/bin/python bench/batch_create.py [--runs 10000] [--repeat 3] [--backends postgres ...]

Last line: `ratio X`, on PostgreSQL (or the first backend given).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import time
from contextlib import redirect_stdout
from typing import Any

import boto3

from bench.enqueue_batch import LOCALSTACK, REMAINING_MS, ROOT, Bench, batch_event, requests
from bench.scratch_database import fresh_database
from bench.table import figure
from tests.support.lambda_events import Context

CALLBACK = {"handler_name": "sample", "params": {"name": "all done"}}


def batches_event(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """POST /api/batches as API Gateway's HTTP API hands it to the function."""
    event = batch_event([])
    path, body = "/api/batches", json.dumps({"runs": runs, "on_complete": CALLBACK})
    event.update(rawPath=path, body=body, pathParameters={"proxy": path.lstrip("/")})
    event["headers"]["content-length"] = str(len(body.encode()))
    event["requestContext"]["http"].update(path=path)
    return event


class BatchBench(Bench):
    def ours(self, count: int) -> float:
        event = batches_event(requests(count))
        started = time.perf_counter()
        answer = self.apps["AdminApiFunction"].handler(event, Context("jobu-AdminApiFunction", REMAINING_MS))
        elapsed = time.perf_counter() - started
        if answer["statusCode"] != 201:
            raise RuntimeError(f"the batch was refused: {answer['body'][:300]}")
        made = json.loads(answer["body"])
        if len(made["run_ids"]) != count or made["batch"]["total"] != count:
            raise RuntimeError(f"the batch made {len(made['run_ids'])} of {count} runs")
        return elapsed


def measure(url: str, sqs: Any, args: argparse.Namespace) -> dict[str, list[float]]:
    import uuid

    tag = uuid.uuid4().hex[:8]
    queues = {
        function: str(sqs.create_queue(QueueName=f"jobu-bench-{function}-{tag}")["QueueUrl"])
        for function in ("AdminApiFunction", "QueueDispatcherFunction")
    }
    bench = BatchBench(url, queues)
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


async def in_database(backend: str, sqs: Any, args: argparse.Namespace) -> dict[str, list[float]]:
    async with fresh_database(backend, "batch_create") as url:
        return await asyncio.to_thread(measure, url, sqs, args)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
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
    logger.registered_handler.setStream(devnull)  # type: ignore[attr-defined]
    for backend in args.backends:
        with redirect_stdout(devnull):
            times = asyncio.run(in_database(backend, sqs, args))
        ours, baseline = statistics.median(times["ours"]), statistics.median(times["baseline"])
        ratios[backend] = baseline / ours
        n = args.runs
        print(f"{backend}: {n} runs, LocalStack SQS, medians of {args.repeat}")
        print(f"  ours: POST /api/batches           {ours * 1000:8.1f} ms {n / ours:8,.0f} runs/s")
        print(f"  baseline: one MSK event, {n} records {baseline * 1000:6.1f} ms {n / baseline:8,.0f} runs/s")
        print(f"  (ours: {', '.join(f'{t * 1000:.0f}' for t in times['ours'])} ms; baseline: "
              f"{', '.join(f'{t * 1000:.0f}' for t in times['baseline'])} ms)")  # fmt: skip
        figure(
            f"batches, POST /api/batches of {n:,} runs, {backend}",
            f"{n / ours:,.0f} runs/s ({ours * 1000:.0f} ms)",
            f"queue dispatcher, {n:,} records: {n / baseline:,.0f} runs/s ({baseline * 1000:.0f} ms)",
            f"{ratios[backend]:.2f}x the dispatcher",
            ">= 0.8x",
        )
    print(f"ratio {ratios[args.backends[0]]:.2f}")


if __name__ == "__main__":
    main()
