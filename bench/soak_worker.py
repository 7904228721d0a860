"""One worker process of the soak (bench/soak.py): plays Lambda's SQS event source mapping.

Receives batches from the work queue (LocalStack: visibility timeout, redrive to the DLQ),
invokes the real worker entry point (functions/worker/app.py) with an SQS event as Lambda builds
it, and deletes what the response did not list in batchItemFailures. The soak kills these
processes with SIGKILL, as Lambda kills a container that timed out or ran out of memory.

    python bench/soak_worker.py --queue-url URL --seed N --send-failure-rate 0.05
(the database, queues and endpoint come from the environment the soak gives it)
"""

from __future__ import annotations

import argparse
import importlib
import random
from typing import Any

import bench.soak_handlers  # noqa: F401  (registers soak_effect in this worker)
from tests.support.lambda_events import Context, sqs_event

# by name: mypy knows the entry point as the module `app` Lambda loads, not as functions.worker.app
app: Any = importlib.import_module("functions.worker.app")

# What the worker is told of its invocation: enough for the soak's jobs and their 5 s margin.
REMAINING_MS = 30_000


class FlakySQS:
    """The container's SQS client, whose SendMessageBatch fails now and then (seeded)."""

    def __init__(self, client: Any, rate: float, rng: random.Random) -> None:
        self._client, self._rate, self._rng = client, rate, rng

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def send_message_batch(self, **kwargs: Any) -> Any:
        if self._rng.random() < self._rate:
            raise ConnectionError("soak: SendMessageBatch failed (injected)")
        return self._client.send_message_batch(**kwargs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queue-url", required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--send-failure-rate", type=float, default=0.0)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    sqs = app.container.sqs
    app.container._sqs = FlakySQS(sqs, args.send_failure_rate, rng)
    queue_arn = sqs.get_queue_attributes(QueueUrl=args.queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    while True:
        received = sqs.receive_message(
            QueueUrl=args.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
        ).get("Messages", [])
        if not received:
            continue
        response = app.handler(sqs_event(received, queue_arn), Context("soak-worker", REMAINING_MS))
        failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
        done = [m for m in received if m["MessageId"] not in failed]
        if done:
            entries: Any = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)]
            sqs.delete_message_batch(QueueUrl=args.queue_url, Entries=entries)


if __name__ == "__main__":
    main()
