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

import json
import time
from typing import Any

from bench.enqueue_batch import REMAINING_MS, Bench, against_the_dispatcher, batch_event, requests
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


def main() -> None:
    against_the_dispatcher(
        __doc__, "batch_create", BatchBench, "POST /api/batches", "batches", runs=10_000, repeat=3
    )


if __name__ == "__main__":
    main()
