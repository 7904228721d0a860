"""SQS message move tasks (dead-letter queue redrive) for the embedded emulator, which moto lacks.

moto 5 has no StartMessageMoveTask, ListMessageMoveTasks or CancelMessageMoveTask: moto server
answered them with a 500 page, so `jobu dlq redrive` failed on the default local runtime. Here they
are, as SQS documents them: a task moves the messages the source queue holds when it starts to the
DestinationArn, or, without one, back to the queue they were dead-lettered from (the one queue whose
RedrivePolicy names the source; with several, the task fails and says to name a destination). It
runs in the background at MaxNumberOfMessagesPerSecond, or as fast as it can; each message is
received, sent to the destination with its body and attributes (a new message there, received
zero times), then deleted, as SQS's own move does. One task at a time per source queue; a list
shows the latest ten, most recent first, with the TaskHandle only while it runs.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from moto.core.responses import ActionResult
from moto.sqs.exceptions import SQSException
from moto.sqs.models import sqs_backends
from moto.sqs.responses import SQSResponse

RECEIVE_VISIBILITY_SECONDS = 30  # a message being moved is invisible meanwhile, as in SQS
KEPT_TASKS = 10  # ListMessageMoveTasks' most


class ResourceNotFound(SQSException):
    def __init__(self, message: str) -> None:
        super().__init__("ResourceNotFoundException", message)


class UnsupportedOperation(SQSException):
    def __init__(self, message: str) -> None:
        super().__init__("AWS.SimpleQueueService.UnsupportedOperation", message)


@dataclass
class MoveTask:
    source_arn: str
    destination_arn: str | None
    max_per_second: int | None
    to_move: int
    handle: str = field(default_factory=lambda: uuid.uuid4().hex)
    status: str = "RUNNING"
    moved: int = 0
    failure_reason: str | None = None
    started_ms: int = field(default_factory=lambda: int(time.time() * 1000))

    def listed(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "Status": self.status,
            "SourceArn": self.source_arn,
            "ApproximateNumberOfMessagesMoved": self.moved,
            "ApproximateNumberOfMessagesToMove": self.to_move,
            "StartedTimestamp": self.started_ms,
        }
        if self.status == "RUNNING":
            entry["TaskHandle"] = self.handle
        if self.destination_arn:
            entry["DestinationArn"] = self.destination_arn
        if self.max_per_second:
            entry["MaxNumberOfMessagesPerSecond"] = self.max_per_second
        if self.failure_reason:
            entry["FailureReason"] = self.failure_reason
        return entry


_tasks: dict[str, list[MoveTask]] = {}  # by source ARN, most recent first
_lock = threading.Lock()


def _queue(arn: str) -> tuple[Any, Any]:
    """The backend and the queue an ARN names (arn:aws:sqs:REGION:ACCOUNT:NAME)."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        raise ResourceNotFound(f"{arn} is not an SQS queue ARN")
    backend = sqs_backends[parts[4]][parts[3]]
    queue = backend.queues.get(parts[5])
    if queue is None:
        raise ResourceNotFound(f"the queue {arn} does not exist")
    return backend, queue


def start(source_arn: str, destination_arn: str | None, max_per_second: int | None) -> MoveTask:
    backend, source = _queue(source_arn)
    origins = backend.list_dead_letter_source_queues(source.name)
    if not origins:
        raise UnsupportedOperation(f"{source_arn} is not the dead-letter queue of any queue")
    if destination_arn:
        _, destination = _queue(destination_arn)
    elif len(origins) == 1:
        destination = origins[0]
    else:
        destination = None
    with _lock:
        tasks = _tasks.setdefault(source_arn, [])
        if any(task.status == "RUNNING" for task in tasks):
            raise UnsupportedOperation("only one active message move task is supported per queue")
        task = MoveTask(source_arn, destination_arn, max_per_second, to_move=len(source.messages))
        tasks.insert(0, task)
        del tasks[KEPT_TASKS:]
    if destination is None:
        task.status = "FAILED"
        task.failure_reason = (
            "the messages came from several queues: give DestinationArn (the emulator does not keep "
            "each message's source)"
        )
        return task
    threading.Thread(
        target=_move, args=(task, backend, source.name, destination), daemon=True, name="sqs-move-task"
    ).start()
    return task


def _move(task: MoveTask, backend: Any, source: str, destination: Any) -> None:
    try:
        while task.status == "RUNNING" and task.moved < task.to_move:
            room = min(10, task.to_move - task.moved)
            received = backend.receive_message(
                source, room, 0, RECEIVE_VISIBILITY_SECONDS, message_attribute_names=["All"]
            )
            if not received:
                break  # fewer than counted at the start: deleted, or received, meanwhile
            for message in received:
                backend.send_message(
                    destination.name, message.body, message_attributes=message.message_attributes
                )
                backend.delete_message(source, message.receipt_handle)
                task.moved += 1
                if task.max_per_second:
                    time.sleep(1 / task.max_per_second)
        if task.status == "RUNNING":
            task.status = "COMPLETED"
    except Exception as error:  # the task fails, as SQS's does, with the reason
        task.status = "FAILED"
        task.failure_reason = f"{type(error).__name__}: {error}"


def listed(source_arn: str, max_results: int) -> list[dict[str, Any]]:
    _queue(source_arn)
    with _lock:
        return [task.listed() for task in _tasks.get(source_arn, [])[:max_results]]


def cancel(handle: str) -> MoveTask:
    with _lock:
        for task in (task for tasks in _tasks.values() for task in tasks):
            if task.handle == handle and task.status == "RUNNING":
                task.status = "CANCELLED"
                return task
    raise ResourceNotFound(f"no running message move task with handle {handle}")


def _start_message_move_task(self: SQSResponse) -> ActionResult:
    task = start(
        self._get_param("SourceArn"),
        self._get_param("DestinationArn"),
        self._get_param("MaxNumberOfMessagesPerSecond"),
    )
    return ActionResult({"TaskHandle": task.handle})


def _list_message_move_tasks(self: SQSResponse) -> ActionResult:
    maximum = int(self._get_param("MaxResults") or 1)  # SQS's default: the latest task only
    return ActionResult({"Results": listed(self._get_param("SourceArn"), min(max(maximum, 1), KEPT_TASKS))})


def _cancel_message_move_task(self: SQSResponse) -> ActionResult:
    task = cancel(self._get_param("TaskHandle"))
    return ActionResult({"ApproximateNumberOfMessagesMoved": task.moved})


def provide_message_move_tasks() -> None:
    """moto's SQS answers the three message move task actions (the response class dispatches each
    action to the method of its name)."""
    SQSResponse.start_message_move_task = _start_message_move_task  # type: ignore[attr-defined]
    SQSResponse.list_message_move_tasks = _list_message_move_tasks  # type: ignore[attr-defined]
    SQSResponse.cancel_message_move_task = _cancel_message_move_task  # type: ignore[attr-defined]
