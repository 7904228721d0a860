"""A batch's runs are recorded as queued (queued_at) as their SendMessageBatch calls succeed, while
later calls are still in flight (jobu.work_queue.enqueue): the sent ones and only those, on the
three backends, and a failed UPDATE fails the send as it did when it came after every call."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from jobu import work_queue
from jobu.errors import StoreUnavailableError
from jobu.models import NewExecution
from jobu.store import JobStore
from jobu.work_queue import QueuedRun, WorkQueue, enqueue

RUNS = 250  # 25 calls of 10


class EveryThirdCallFails:
    """moto's SQS client, but every third SendMessageBatch call fails whole (throttled)."""

    def __init__(self) -> None:
        self._sqs = boto3.client("sqs")
        self.queue_url = self._sqs.create_queue(QueueName="marks-work")["QueueUrl"]
        self._calls, self._lock = 0, threading.Lock()
        self.refused: set[int] = set()

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:
        with self._lock:
            self._calls += 1
            fails = self._calls % 3 == 0
            if fails:
                self.refused |= {int(entry["Id"]) for entry in Entries}
        if fails:
            raise RuntimeError("throttled")
        return self._sqs.send_message_batch(QueueUrl=QueueUrl, Entries=Entries)


async def new_runs(store: JobStore, now: datetime) -> list[QueuedRun]:
    runs = [
        NewExecution(
            job_id=None, handler_name="sample", params={"id": i}, param_source="event", max_retry=0,
            timeout_seconds=60, source_topic="marks", source_partition=0, source_offset=i,
        )
        for i in range(RUNS)
    ]  # fmt: skip
    created = await store.runs.insert_events(runs, now=now)
    return [QueuedRun.for_execution(run) for run in created]


async def test_the_sent_runs_and_only_those_are_marked_queued_while_the_rest_are_sent(
    store: JobStore, aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)
    queued = await new_runs(store, now)
    client = EveryThirdCallFails()
    updates: list[int] = []
    mark_queued = store.runs.mark_queued

    async def counted(sent: Any, *, now: datetime) -> None:
        updates.append(len(sent))
        await mark_queued(sent, now=now)

    monkeypatch.setattr(store.runs, "mark_queued", counted)
    report = await enqueue(store, WorkQueue(sqs_client=client, queue_url=client.queue_url), queued, now=now)
    assert set(report.failed) == client.refused
    assert len(client.refused) == 80
    assert report.sent == [run.execution_id for run in queued if run.execution_id not in client.refused]
    for run in queued:
        execution = await store.runs.get(run.execution_id)
        assert execution is not None
        assert (execution.queued_at is None) == (run.execution_id in client.refused)
    # recorded in parts as calls ended (at least MARK_WHILE_SENDING at a time), the rest at the end
    assert len(updates) >= 2
    assert sum(updates) == RUNS - 80
    assert all(size >= work_queue.MARK_WHILE_SENDING for size in updates[:-1])


async def test_an_update_that_fails_fails_the_send(
    store: JobStore, aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)
    queued = await new_runs(store, now)
    sqs = boto3.client("sqs")
    queue = WorkQueue(sqs_client=sqs, queue_url=sqs.create_queue(QueueName="marks-down")["QueueUrl"])

    async def unreachable(sent: Any, *, now: datetime) -> None:
        raise StoreUnavailableError("PostgreSQL is unreachable")

    monkeypatch.setattr(store.runs, "mark_queued", unreachable)
    with pytest.raises(StoreUnavailableError):
        await enqueue(store, queue, queued, now=now)
