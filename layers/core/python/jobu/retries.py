"""What happens to a run that failed or timed out: another attempt after a backoff, or the end.

Backoff: retry n (n = 0, 1, ...) waits d/2 + a random part of d/2, where d = min(max, base x 2^n):
exponential, capped, and jittered so runs that failed together do not retry together. A handler
may name the wait itself (RetryAfter). A wait longer than SQS's 900 s message delay is not sent
as a delayed message: the run stays PENDING, unsent, and the sweeper sends it, with the delay
left, once it is within 900 s of its time.

A run that ends FAILED or TIMEOUT for good (no retry left, or one that cannot help) and whose params
name an `on_failure` link ({handler_name, params}) gets that run, created in the transaction that
records the end (so once, however often the message is delivered) and queued after it, with the
link's params plus `failed_run`: {id, handler_name, status, error_message} of the run that failed.
An attempt that will be retried creates nothing.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from jobu.config import RetryPolicy
from jobu.models import Execution, ExecutionStatus, NewExecution
from jobu.notifications import deliver_after_outcome
from jobu.observability import CANCELLED, FAILED, RETRIED, TIMED_OUT, count
from jobu.run_metrics import run_ended
from jobu.store import JobStore
from jobu.store.runs import Finished
from jobu.work_queue import QueuedRun, ready_runs

CANCELLED_REASON = "cancelled by an operator"
# a WAITING run (queue_one) of a job that was deleted: nothing would ever start it
JOB_DELETED_REASON = "cancelled: its cron job was deleted while the run was WAITING"
# the key of an on_failure run's params that says which run failed, and how
FAILED_RUN = "failed_run"
# an on_failure run carries this much of the failed run's error (the run keeps all of it)
FAILED_RUN_ERROR_CHARS = 2000


def limited_handler(execution: Execution) -> str | None:
    """The run's handler when the run holds a slot of its limits (its end frees it), else None."""
    return execution.handler_name if execution.limit_state == "admitted" else None


def failure_follow_up(execution: Execution, *, status: ExecutionStatus, error: str) -> NewExecution | None:
    """The run `execution`'s on_failure link asks for when it ends with `status` for good, or None
    (no link, a status other than FAILED or TIMEOUT, or a link the edge would have refused)."""
    link = execution.params.get("on_failure") if isinstance(execution.params, dict) else None
    if not isinstance(link, dict) or status not in (ExecutionStatus.FAILED, ExecutionStatus.TIMEOUT):
        return None
    # checked by hand, not with the worker's model: the dispatchers import this and never pydantic
    handler_name, params = link.get("handler_name"), link.get("params", {})
    if not isinstance(handler_name, str) or not handler_name or not isinstance(params, dict):
        return None  # the worker failed the run for it already; the edge refuses such a link
    failed = {
        "id": execution.id,
        "handler_name": execution.handler_name,
        "status": status.value,
        "error_message": error[:FAILED_RUN_ERROR_CHARS],
    }
    return NewExecution(
        job_id=None,
        handler_name=handler_name,
        params={**params, FAILED_RUN: failed},
        param_source="event",
        max_retry=execution.max_retry,
        timeout_seconds=execution.timeout_seconds,
        parent_execution_id=execution.id,
    )


def backoff_seconds(retry_count: int, policy: RetryPolicy, rng: random.Random | None = None) -> float:
    """The wait before retry `retry_count` + 1: in [d/2, d], d = min(max, base x 2^retry_count)."""
    base, cap = policy.base.total_seconds(), policy.max.total_seconds()
    ceiling = cap if retry_count >= 64 else min(cap, base * 2**retry_count)
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


async def settle_failure(
    store: JobStore,
    execution: Execution,
    *,
    status: ExecutionStatus,
    error: str,
    result: Any,
    now: datetime,
    policy: RetryPolicy,
    retryable: bool = True,
    retry_after: float | None = None,
) -> list[QueuedRun]:
    """Retry `execution` (RUNNING) if it is retryable and has retries left, else end it with `status`.

    Returns the messages to queue: the retry's (enqueue leaves one whose wait is longer than a
    message can be delayed to the sweeper), or, when the run ended, its on_failure run and its
    queue_one job's WAITING run that the end promoted (both in the same transaction); none when
    someone else settled it.
    """
    attempt = execution.retry_count
    if retryable and attempt < execution.max_retry:
        delay = retry_after if retry_after is not None else backoff_seconds(attempt, policy)
        retried = await store.runs.retry(
            execution.id,
            attempt=attempt,
            error_message=error,
            result=result,
            available_at=now + timedelta(seconds=delay),
            now=now,
            started_at=execution.started_at,
        )
        if retried:
            count(RETRIED)
            return [QueuedRun(execution.id, attempt + 1, execution.handler_name, round(delay))]
        # not retried: another actor settled it, or an operator asked to cancel it (no more attempts)
        ended = await store.runs.finish(
            execution.id,
            attempt=attempt,
            status=ExecutionStatus.CANCELLED,
            result=result,
            error_message=f"{CANCELLED_REASON} (its last attempt failed: {error})",
            now=now,
            job_id=execution.job_id,
            batch_id=execution.batch_id,
            limited=limited_handler(execution),
        )
        await deliver_after_outcome(store, execution.id, ended.notifications, now=now)
        return _promoted(ended, now)
    ended = await store.runs.finish(
        execution.id,
        attempt=attempt,
        status=status,
        result=result,
        error_message=error,
        now=now,
        follow_up=failure_follow_up(execution, status=status, error=error),
        job_id=execution.job_id,
        batch_id=execution.batch_id,
        limited=limited_handler(execution),
    )
    await deliver_after_outcome(store, execution.id, ended.notifications, now=now)
    count({ExecutionStatus.TIMEOUT: TIMED_OUT, ExecutionStatus.CANCELLED: CANCELLED}.get(status, FAILED))
    run_ended(execution.handler_name, status)
    return _promoted(ended, now)


def _promoted(ended: Finished, now: datetime) -> list[QueuedRun]:
    """The runs the end made: its on_failure run, the queue_one run it promoted, the runs its
    handler's limits let through, and its batch's callbacks when it was the batch's last child."""
    return ready_runs((ended.follow_up, ended.promoted, *ended.released, *ended.callbacks), now)
