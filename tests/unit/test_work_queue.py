"""The work queues on moto SQS: each run to its pool's queue, batches of ten sent concurrently,
partial failures reported."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from jobu.work_queue import QueuedRun, WorkQueue


@pytest.fixture
def sqs(aws_env: None) -> Any:
    return boto3.client("sqs")


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    bodies = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


async def test_sends_every_run_in_batches(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="work")["QueueUrl"]
    calls: list[int] = []
    original = sqs.send_message_batch

    def counting(**kwargs: Any) -> Any:
        calls.append(len(kwargs["Entries"]))
        return original(**kwargs)

    sqs.send_message_batch = counting
    report = await WorkQueue(sqs_client=sqs, queue_url=url).send(
        [QueuedRun(i, 0, "sample") for i in range(1, 26)]
    )
    assert sorted(report.sent) == list(range(1, 26))
    assert report.failed == {}
    assert sorted(calls) == [5, 10, 10]
    assert sorted(b["execution_id"] for b in drain(sqs, url)) == list(range(1, 26))


async def test_message_carries_the_attempt(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="work")["QueueUrl"]
    await WorkQueue(sqs_client=sqs, queue_url=url).send([QueuedRun(7, 2, "sample")])
    assert drain(sqs, url) == [{"execution_id": 7, "attempt": 2}]


async def test_a_failed_call_reports_its_runs_unsent(sqs: Any) -> None:
    report = await WorkQueue(sqs_client=sqs, queue_url="https://sqs.us-east-1.amazonaws.com/1/missing").send(
        [QueuedRun(1, 0, "sample"), QueuedRun(2, 0, "sample")]
    )
    assert report.sent == []
    assert sorted(report.failed) == [1, 2]
    assert "QueueDoesNotExist" in report.failed[1]


async def test_each_run_goes_to_its_handlers_pool_queue(sqs: Any) -> None:
    urls = {pool: sqs.create_queue(QueueName=f"work-{pool}")["QueueUrl"] for pool in ("default", "pipeline")}
    runs = [QueuedRun(1, 0, "sample"), QueuedRun(2, 1, "pandas_preprocess"), QueuedRun(3, 0, "db_loader")]
    report = await WorkQueue(sqs_client=sqs, queue_urls=urls).send(runs)
    assert sorted(report.sent) == [1, 2, 3]
    assert drain(sqs, urls["default"]) == [{"execution_id": 1, "attempt": 0}]
    assert sorted(b["execution_id"] for b in drain(sqs, urls["pipeline"])) == [2, 3]


async def test_a_run_whose_pool_has_no_queue_is_left_unsent_with_the_reason(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="work")["QueueUrl"]
    report = await WorkQueue(sqs_client=sqs, queue_url=url).send(
        [QueuedRun(1, 0, "sample"), QueuedRun(2, 0, "pydantic_validator")]
    )
    assert report.sent == [1]
    assert report.failed == {2: "pool 'pipeline' has no queue here (JOBU_WORK_QUEUE_URL_PIPELINE is not set)"}
    assert drain(sqs, url) == [{"execution_id": 1, "attempt": 0}]
