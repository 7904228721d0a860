"""A pool's dead-letter queue: how deep it is, a look at its messages, and redrive (each pool has
its own: jobu.pools; the routes take the pool's name).

Messages land there after WorkQueueMaxReceiveCount deliveries whose worker invocation crashed or
timed out (a failed job is retried by the worker itself and never gets there), or at once when the
worker finds a body it can never parse (`keep`, with the reason in the `jobu_reason` attribute).
Redrive is SQS's own message move task (StartMessageMoveTask): it moves the messages back to the
queue they came from, the pool's work queue, at SQS's pace or at `max_per_second`; the worker then claims
each run if it is still PENDING at the message's attempt, and acknowledges the rest as duplicates.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from jobu.dead_letter_queue import REASON_ATTRIBUTE, DeadLetterQueue, SqsQueue
from jobu.documents import FieldError
from jobu.errors import InvalidStateError
from jobu.models import ExecutionStatus, WorkMessage
from jobu.operations.audit import Actor, Change, audited
from jobu.store import JobStore

MAX_PEEK = 10  # SQS's own limit for one ReceiveMessage


class QueueDepth(BaseModel):
    visible: int = Field(
        description="messages waiting: for a worker, or in a dead-letter queue to be redriven or inspected"
    )
    in_flight: int = Field(
        description="messages received and not yet deleted (runs under way, a peek, a redrive)"
    )
    delayed: int = Field(description="messages not visible yet (a retry's backoff)")


DeadLetterDepth = QueueDepth  # the name the dead-letter routes and their clients know


class DeadLetter(BaseModel):
    message_id: str
    body: str
    sent_at: datetime | None
    receive_count: int
    execution_id: int | None = Field(
        description="the run the message was for, when the body is a work message"
    )
    attempt: int | None
    run_status: ExecutionStatus | None = Field(description="that run's status now (null: no such run)")
    reason: str | None = Field(
        default=None, description="why the worker put it there itself (a body it can never parse)"
    )


class RedriveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_per_second: int | None = Field(
        default=None, ge=1, le=500, description="SQS's move rate limit; empty lets SQS choose"
    )


class RedriveTask(BaseModel):
    task_handle: str | None = Field(description="given while the task runs; cancel it with this")
    status: str = Field(description="RUNNING, COMPLETED, CANCELLING, CANCELLED or FAILED")
    moved: int = Field(description="messages moved so far")
    to_move: int | None = Field(description="messages the task found when it started")
    started_at: datetime | None
    failure_reason: str | None = None


async def depth(queue: SqsQueue) -> QueueDepth:
    """The messages a queue holds (a dead-letter queue, or a pool's work queue)."""
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    response = await queue.call("get_queue_attributes", QueueUrl=queue.queue_url, AttributeNames=names)
    values = [int(response["Attributes"].get(name, 0)) for name in names]
    return QueueDepth(visible=values[0], in_flight=values[1], delayed=values[2])


def _parse(message: dict[str, Any]) -> tuple[WorkMessage | None, datetime | None, int]:
    attributes = message.get("Attributes", {})
    sent = attributes.get("SentTimestamp")
    sent_at = None if sent is None else datetime.fromtimestamp(int(sent) / 1000, UTC)
    try:
        work = WorkMessage.from_json(message.get("Body", ""))
    except FieldError:
        work = None
    return work, sent_at, int(attributes.get("ApproximateReceiveCount", 0))


async def peek(store: JobStore, dead_letters: DeadLetterQueue, *, max_messages: int) -> list[DeadLetter]:
    """Up to `max_messages` messages, left in the queue: received with a zero visibility timeout, so
    they stay visible (each look adds one to their receive count, which nothing on this queue reads)."""
    response = await dead_letters.call(
        "receive_message",
        QueueUrl=dead_letters.queue_url,
        MaxNumberOfMessages=min(max(max_messages, 1), MAX_PEEK),
        VisibilityTimeout=0,
        WaitTimeSeconds=0,
        MessageSystemAttributeNames=["SentTimestamp", "ApproximateReceiveCount"],
        MessageAttributeNames=[REASON_ATTRIBUTE],
    )
    letters = []
    for message in response.get("Messages", []):
        work, sent_at, receive_count = _parse(message)
        run = None if work is None else await store.runs.get(work.execution_id)
        letters.append(
            DeadLetter(
                message_id=message["MessageId"],
                body=message.get("Body", ""),
                sent_at=sent_at,
                receive_count=receive_count,
                execution_id=None if work is None else work.execution_id,
                attempt=None if work is None else work.attempt,
                run_status=None if run is None else run.status,
                reason=message.get("MessageAttributes", {}).get(REASON_ATTRIBUTE, {}).get("StringValue"),
            )
        )
    return letters


def _task(entry: dict[str, Any]) -> RedriveTask:
    started = entry.get("StartedTimestamp")
    return RedriveTask(
        task_handle=entry.get("TaskHandle"),
        status=str(entry.get("Status", "RUNNING")),
        moved=int(entry.get("ApproximateNumberOfMessagesMoved", 0)),
        to_move=entry.get("ApproximateNumberOfMessagesToMove"),
        started_at=None if started is None else datetime.fromtimestamp(int(started) / 1000, UTC),
        failure_reason=entry.get("FailureReason"),
    )


async def redrives(dead_letters: DeadLetterQueue) -> list[RedriveTask]:
    """The queue's move tasks, most recent first (SQS keeps those of the last 14 days, at most 10)."""
    response = await dead_letters.call(
        "list_message_move_tasks", SourceArn=await dead_letters.arn(), MaxResults=10
    )
    return [_task(entry) for entry in response.get("Results", [])]


async def redrive(
    store: JobStore,
    dead_letters: DeadLetterQueue,
    pool: str,
    request: RedriveRequest,
    *,
    now: datetime,
    actor: Actor,
) -> RedriveTask:
    """Start moving every message back to the work queue; one task at a time per queue.

    The change is SQS's, not the database's: the audit row is written once SQS has started the
    task (a redrive SQS refused changed nothing)."""
    task = await _start_redrive(dead_letters, request)

    async def note(change: Change) -> RedriveTask:
        change.record(after={"task_handle": task.task_handle, "max_per_second": request.max_per_second})
        return task

    return await audited(
        store, actor, "dead_letters.redrive", "dead_letter_queue", pool, now=now, change=note
    )


async def _start_redrive(dead_letters: DeadLetterQueue, request: RedriveRequest) -> RedriveTask:
    source = await dead_letters.arn()
    running = [task for task in await redrives(dead_letters) if task.status == "RUNNING"]
    if running:
        raise InvalidStateError(f"a redrive is already running (task {running[0].task_handle}); wait for it")
    arguments: dict[str, Any] = {"SourceArn": source}
    if request.max_per_second is not None:
        arguments["MaxNumberOfMessagesPerSecond"] = request.max_per_second
    response = await dead_letters.call("start_message_move_task", **arguments)
    tasks = await redrives(dead_letters)
    started = [task for task in tasks if task.task_handle == response["TaskHandle"]]
    if started:
        return started[0]
    if tasks and tasks[0].status != "RUNNING":  # ours, ended already: listed without its handle
        return tasks[0]
    return RedriveTask(
        task_handle=response["TaskHandle"], status="RUNNING", moved=0, to_move=None, started_at=None
    )
