"""What happens to a run that failed or timed out: another attempt after a backoff, or the end."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from jobu.models import Execution, ExecutionStatus
from jobu.observability import FAILED, RETRIED, TIMED_OUT, count
from jobu.store import JobStore
from jobu.work_queue import MAX_DELAY_SECONDS, QueuedRun

BACKOFF_BASE_SECONDS = 10


def backoff_seconds(retry_count: int) -> int:
    """10 s, 20 s, 40 s, ... capped at SQS's 900 s maximum message delay."""
    return int(min(MAX_DELAY_SECONDS, BACKOFF_BASE_SECONDS * 2**retry_count))


async def settle_failure(
    store: JobStore,
    execution: Execution,
    *,
    status: ExecutionStatus,
    error: str,
    result: Any,
    now: datetime,
    retryable: bool = True,
) -> QueuedRun | None:
    """Retry `execution` (RUNNING) if it is retryable and has retries left, else end it with `status`.

    Returns the message to queue for the retry, or None when the run ended (or someone else
    settled it first).
    """
    attempt = execution.retry_count
    if retryable and attempt < execution.max_retry:
        delay = backoff_seconds(attempt)
        retried = await store.retry_execution(
            execution.id,
            attempt=attempt,
            error_message=error,
            result=result,
            available_at=now + timedelta(seconds=delay),
            now=now,
        )
        if retried:
            count(RETRIED)
            return QueuedRun(execution.id, attempt + 1, delay)
        return None
    await store.finish_execution(
        execution.id, attempt=attempt, status=status, result=result, error_message=error, now=now
    )
    count(TIMED_OUT if status is ExecutionStatus.TIMEOUT else FAILED)
    return None
