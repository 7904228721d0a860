"""The SQS work queues: messages that point a worker at an execution.

Every run is sent here, by every path that queues one (both dispatchers, the sweeper, retries,
run now, backfill, replay, on_success follow-ups): each run goes to the queue of its handler's
pool (jobu.pools; the handler manifest says which pool), and no caller chooses a queue itself.
A message carries only {"execution_id", "attempt"}; params stay in the database, so a message is
always far below SQS's 256 KB limit. Sends use SendMessageBatch (10 entries per call), with the
calls made concurrently.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, partial
from typing import TYPE_CHECKING, Any

from jobu import constants
from jobu.handler_manifest import handler_pool
from jobu.models import Execution, ExecutionStatus, RunRef, WorkMessage
from jobu.observability import DISPATCHED, SEND_FAILED, count, logger
from jobu.pools import DEFAULT_POOL, pool_variable
from jobu.store import JobStore

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

SQS_BATCH_LIMIT = 10
MAX_DELAY_SECONDS = 900  # SQS's own limit on DelaySeconds
# SendMessageBatch calls in flight at once: the SQS client's connection pool (jobu.lambda_runtime)
# and the threads that make the calls. asyncio's default executor has min(32, CPUs + 4) threads,
# 6 on a 2-vCPU Lambda: 1,000 messages then took twice as long to send (LocalStack, measured).
SEND_CONCURRENCY = 32


@cache
def _sender_threads() -> ThreadPoolExecutor:
    """The threads boto3's (blocking) calls run on: one pool per process, made at the first send
    and kept while the container is warm, like the client they serve."""
    return ThreadPoolExecutor(SEND_CONCURRENCY, thread_name_prefix="jobu-sqs")


@dataclass(frozen=True)
class QueuedRun:
    execution_id: int
    attempt: int
    # the run's handler: its pool's queue is the one the message goes to
    handler_name: str
    delay_seconds: int = 0

    @classmethod
    def for_execution(cls, execution: Execution | RunRef, delay_seconds: int = 0) -> QueuedRun:
        delay = min(max(delay_seconds, 0), MAX_DELAY_SECONDS)
        return cls(execution.id, execution.retry_count, execution.handler_name, delay)

    @classmethod
    def when_due(cls, execution: Execution | RunRef, now: datetime) -> QueuedRun:
        """Its message, delayed until its available_at (a run its handler's rate handed over for later)."""
        return cls.for_execution(execution, _delay(execution, now))

    @property
    def pool(self) -> str:
        return handler_pool(self.handler_name)

    def body(self) -> str:
        return WorkMessage(execution_id=self.execution_id, attempt=self.attempt).to_json()


def ready_runs(executions: Iterable[Execution | RunRef | None], now: datetime) -> list[QueuedRun]:
    """The messages of the runs that may start (PENDING): a run waiting for its handler's limits
    (WAITING) is sent when they hand it over."""
    return [
        QueuedRun.when_due(run, now)
        for run in executions
        if run is not None and run.status is ExecutionStatus.PENDING
    ]


def latest_attempts(runs: Sequence[QueuedRun]) -> list[QueuedRun]:
    """One run per execution, its latest attempt: an entry Id twice in one SendMessageBatch call
    fails the whole call (BatchEntryIdsNotDistinct)."""
    return list({run.execution_id: run for run in sorted(runs, key=lambda run: run.attempt)}.values())


@dataclass
class SendReport:
    sent: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


class WorkQueue:
    """Every pool's work queue, behind one `send`."""

    def __init__(
        self,
        *,
        sqs_client: SQSClient | Callable[[], SQSClient],
        queue_urls: Mapping[str, str] | None = None,
        queue_url: str | None = None,
    ) -> None:
        """`sqs_client`, or a function that makes it when the first message is sent; `queue_urls`
        by pool, or `queue_url` alone for a deployment of the default pool only."""
        self._client = sqs_client
        if (queue_urls is None) == (queue_url is None):
            raise TypeError("give queue_urls (by pool) or queue_url (the default pool's), not both")
        self.queue_urls = dict(queue_urls) if queue_urls is not None else {DEFAULT_POOL: str(queue_url)}

    @property
    def queue_url(self) -> str:
        """The default pool's queue."""
        return self.queue_urls[DEFAULT_POOL]

    @property
    def _sqs(self) -> SQSClient:
        if callable(self._client):
            self._client = self._client()
        return self._client

    async def send(
        self, runs: Sequence[QueuedRun], on_sent: Callable[[list[int]], None] | None = None
    ) -> SendReport:
        """Each run to its pool's queue; a run whose pool has no queue here is not sent (it stays
        unsent, and says why). `on_sent` is told the runs of each call as the call succeeds."""
        report = SendReport()
        by_queue: dict[str, list[QueuedRun]] = {}
        for run in latest_attempts(runs):
            url = self.queue_urls.get(run.pool)
            if url is None:
                variable = pool_variable(constants.WORK_QUEUE_URL, run.pool)
                report.failed[run.execution_id] = (
                    f"pool {run.pool!r} has no queue here ({variable} is not set)"
                )
            else:
                by_queue.setdefault(url, []).append(run)
        chunks = [
            (url, queued[i : i + SQS_BATCH_LIMIT])
            for url, queued in by_queue.items()
            for i in range(0, len(queued), SQS_BATCH_LIMIT)
        ]
        for sending in asyncio.as_completed([self._send_chunk(url, chunk) for url, chunk in chunks]):
            chunk_report = await sending
            report.sent += chunk_report.sent
            report.failed.update(chunk_report.failed)
            if on_sent is not None and chunk_report.sent:
                on_sent(chunk_report.sent)
        order = {run.execution_id: position for position, run in enumerate(runs)}
        report.sent.sort(key=order.__getitem__)  # the runs' order, whichever call ended first
        return report

    async def _send_chunk(self, queue_url: str, runs: Sequence[QueuedRun]) -> SendReport:
        entries: list[Any] = [
            {"Id": str(run.execution_id), "MessageBody": run.body(), "DelaySeconds": run.delay_seconds}
            for run in runs
        ]
        send = partial(self._sqs.send_message_batch, QueueUrl=queue_url, Entries=entries)
        try:
            # boto3 is synchronous; a thread per call lets the batches travel together
            response = await asyncio.get_running_loop().run_in_executor(_sender_threads(), send)
        except Exception as error:  # any failure of the call leaves the whole chunk unsent
            return SendReport(failed={run.execution_id: f"{type(error).__name__}: {error}" for run in runs})
        return SendReport(
            sent=[int(entry["Id"]) for entry in response.get("Successful", [])],
            failed={
                int(entry["Id"]): entry.get("Message", entry["Code"]) for entry in response.get("Failed", [])
            },
        )


class DryRunQueue(WorkQueue):
    """The queue a dry run is given: it sends nothing, so it needs no queue (and a send would be a
    bug, said as one)."""

    def __init__(self) -> None:
        super().__init__(sqs_client=_no_client, queue_urls={})

    async def send(
        self, runs: Sequence[QueuedRun], on_sent: Callable[[list[int]], None] | None = None
    ) -> SendReport:
        raise RuntimeError(f"a dry run tried to queue {len(runs)} run(s)")


def _no_client() -> SQSClient:
    raise RuntimeError("a dry run has no SQS client")


# Sent runs recorded (queued_at) while the rest of the messages are still being sent, this many
# or more at a time: most of a large batch's UPDATE is done by the time its last message is sent.
MARK_WHILE_SENDING = 100


class _QueuedMarks:
    """Records sent runs as queued while later calls are still in flight: one UPDATE at a time,
    of the runs sent since the last one began; `finish` records the rest and waits for them all."""

    def __init__(self, store: JobStore, attempts: dict[int, int], now: datetime) -> None:
        self._store, self._attempts, self._now = store, attempts, now
        self._waiting: list[int] = []
        self._marking: asyncio.Task[None] | None = None

    def sent(self, execution_ids: list[int]) -> None:
        self._waiting += execution_ids
        if len(self._waiting) < MARK_WHILE_SENDING:
            return
        if self._marking is not None and (not self._marking.done() or self._marking.exception()):
            return  # one UPDATE at a time; one that failed is raised by `finish`
        self._marking = asyncio.ensure_future(self._mark(self._take()))

    def _take(self) -> list[int]:
        taken, self._waiting = self._waiting, []
        return taken

    async def _mark(self, execution_ids: list[int]) -> None:
        sent = [(execution_id, self._attempts[execution_id]) for execution_id in execution_ids]
        await self._store.runs.mark_queued(sent, now=self._now)

    async def finish(self) -> None:
        try:
            if self._marking is not None:
                await self._marking
        finally:
            self._marking = None
        await self._mark(self._take())


async def enqueue(
    store: JobStore, queue: WorkQueue, runs: Sequence[QueuedRun], *, now: datetime
) -> SendReport:
    """Send the runs' messages and record which were sent (as they are: see _QueuedMarks).

    A run whose message fails stays PENDING with queued_at unset: the sweeper re-sends it.
    """
    # a wait longer than SQS can delay a message: the run stays unsent, and the sweeper sends it
    # once it is due (its available_at has passed)
    runs = [run for run in runs if run.delay_seconds <= MAX_DELAY_SECONDS]
    if not runs:
        return SendReport()
    marks = _QueuedMarks(store, {run.execution_id: run.attempt for run in latest_attempts(runs)}, now)
    try:
        report = await queue.send(runs, on_sent=marks.sent)
    finally:
        await marks.finish()
    if report.failed:
        count(SEND_FAILED, len(report.failed))
        logger.error(
            "work queue send failed; the sweeper will re-send",
            extra={
                "failed_execution_ids": sorted(report.failed),
                "reasons": sorted(set(report.failed.values())),
            },
        )
    return report


def _delay(execution: Execution | RunRef, now: datetime) -> int:
    """Seconds until a run may start (run_at / delay_seconds), rounded up: SQS delays its message."""
    if execution.available_at is None or execution.available_at <= now:
        return 0
    return math.ceil((execution.available_at - now).total_seconds())


async def dispatch_new_runs(
    store: JobStore,
    queue: WorkQueue,
    executions: Sequence[Execution | RunRef],
    *,
    now: datetime,
    message: str,
) -> SendReport:
    """Queue runs a dispatcher just created, count them, and log one line per run.

    Each line carries execution_id, job_id and handler_name: the keys that find a run's lines.
    """
    # not for_execution: it shortens a delay to SQS's longest, and a longer one is the sweeper's to send;
    # a run its handler's limits hold (WAITING) is sent when they hand it over
    runs = [
        QueuedRun(e.id, e.retry_count, e.handler_name, _delay(e, now))
        for e in executions
        if e.status is ExecutionStatus.PENDING
    ]
    sent = await enqueue(store, queue, runs, now=now)
    count(DISPATCHED, len(sent.sent))
    queued = set(sent.sent)
    for execution in executions:
        logger.info(
            message,
            extra={
                "execution_id": execution.id,
                "job_id": execution.job_id,
                "handler_name": execution.handler_name,
                "scheduled_time": execution.scheduled_time,
                "queued": execution.id in queued,
            },
        )
    return sent
