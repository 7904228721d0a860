"""The worker's work for one SQS message: claim the run, execute its handler, store the outcome.

Transitions (docs/executions.md): PENDING -claim-> RUNNING -> SUCCESS | FAILED | TIMEOUT, or
back to PENDING with retry_count + 1 when retries are left. A message whose run is not PENDING
at the message's attempt is a duplicate and does nothing.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from jobu.clock import utcnow
from jobu.errors import JobuError, NonRetryableError, UnknownHandlerError
from jobu.handlers import BaseHandler, HandlerContext, HandlerParams, HandlerResult, get_handler
from jobu.models import Execution, ExecutionStatus, NewExecution, WorkMessage
from jobu.observability import SUCCEEDED, count, logger
from jobu.retries import settle_failure
from jobu.store import JobStore
from jobu.work_queue import QueuedRun, WorkQueue, enqueue

# Time kept back from the Lambda's remaining time to store the outcome after a handler stops.
TIMEOUT_MARGIN_SECONDS = 5.0


class NotEnoughTimeError(JobuError):
    """Too little of the invocation is left to run anything; the message is left for redelivery."""


class Outcome(StrEnum):
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    TIMEOUT = "TIMEOUT"
    RETRYING = "RETRYING"
    DUPLICATE = "DUPLICATE"
    MISSING = "MISSING"


class FollowUp(BaseModel):
    """`on_success` in a run's params: the run to create when this one succeeds."""

    handler_name: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)


class PermanentError(Exception):
    """The run cannot succeed however often it is tried (bad params, unknown handler)."""


def _prepare(execution: Execution) -> tuple[type[BaseHandler], HandlerParams, FollowUp | None]:
    try:
        handler_cls = get_handler(execution.handler_name)
        params = handler_cls.params_model.model_validate(execution.params)
        raw_follow_up = execution.params.get("on_success")
        follow_up = None if raw_follow_up is None else FollowUp.model_validate(raw_follow_up)
        if follow_up is not None:
            get_handler(follow_up.handler_name)
    except UnknownHandlerError as error:
        raise PermanentError(str(error)) from None
    except ValidationError as error:
        raise PermanentError(
            f"invalid params: {error.errors()[0]['loc']}: {error.errors()[0]['msg']}"
        ) from None
    return handler_cls, params, follow_up


class Worker:
    def __init__(self, store: JobStore, queue: WorkQueue) -> None:
        self.store = store
        self.queue = queue

    async def process(self, message: WorkMessage, *, remaining_seconds: float) -> Outcome:
        execution = await self.store.get_execution(message.execution_id)
        if execution is None:
            logger.warning(
                "message for a run that does not exist", extra={"execution_id": message.execution_id}
            )
            return Outcome.MISSING
        logger.thread_safe_append_keys(
            execution_id=execution.id, job_id=execution.job_id, handler_name=execution.handler_name
        )
        if execution.status is not ExecutionStatus.PENDING or execution.retry_count != message.attempt:
            logger.info(
                "duplicate delivery ignored", extra={"status": execution.status, "attempt": message.attempt}
            )
            return Outcome.DUPLICATE
        budget = min(float(execution.timeout_seconds), remaining_seconds - TIMEOUT_MARGIN_SECONDS)
        if budget <= 0:
            raise NotEnoughTimeError(
                f"{remaining_seconds:.1f}s left in this invocation; the message will be redelivered"
            )
        now = utcnow()
        deadline = now + timedelta(seconds=budget + TIMEOUT_MARGIN_SECONDS)
        if not await self.store.claim_execution(
            execution.id, attempt=message.attempt, now=now, deadline_at=deadline
        ):
            logger.info("run claimed by another delivery")
            return Outcome.DUPLICATE
        claimed = execution.model_copy(update={"status": ExecutionStatus.RUNNING})
        logger.info("run started", extra={"attempt": message.attempt, "budget_seconds": budget})
        return await self._run(claimed, budget)

    async def _run(self, execution: Execution, budget: float) -> Outcome:
        try:
            handler_cls, params, follow_up = _prepare(execution)
        except PermanentError as error:
            # retrying cannot help: end the run now, whatever max_retry says
            await self._end(execution, ExecutionStatus.FAILED, str(error), None, retryable=False)
            return Outcome.FAILED
        context = HandlerContext(
            execution_id=execution.id,
            job_id=execution.job_id,
            handler_name=execution.handler_name,
            retry_count=execution.retry_count,
            database=self.store.connector,
        )
        scope = asyncio.timeout(budget)
        try:
            async with scope:
                returned = await handler_cls(context).execute(params)
            result = HandlerResult.model_validate(returned)
        except TimeoutError as error:
            if scope.expired():
                return await self._end(
                    execution, ExecutionStatus.TIMEOUT, f"timed out after {budget:g}s", None
                )
            return await self._end(execution, ExecutionStatus.FAILED, f"TimeoutError: {error}", None)
        except Exception as error:
            logger.exception("handler raised")
            return await self._end(
                execution,
                ExecutionStatus.FAILED,
                f"{type(error).__name__}: {error}",
                None,
                # the handler says retrying cannot help (e.g. a refused path or table)
                retryable=not isinstance(error, NonRetryableError),
            )
        stored = result.model_dump(mode="json")
        if not result.success:
            return await self._end(
                execution, ExecutionStatus.FAILED, result.error or "handler returned success=false", stored
            )
        await self._succeed(execution, stored, follow_up)
        return Outcome.SUCCESS

    async def _succeed(
        self, execution: Execution, result: dict[str, Any], follow_up: FollowUp | None
    ) -> None:
        now = utcnow()
        child = None
        if follow_up is not None:
            child = NewExecution(
                job_id=None,
                handler_name=follow_up.handler_name,
                params=follow_up.params,
                param_source="event",
                max_retry=execution.max_retry,
                timeout_seconds=execution.timeout_seconds,
                parent_execution_id=execution.id,
            )
        created = await self.store.finish_execution(
            execution.id,
            attempt=execution.retry_count,
            status=ExecutionStatus.SUCCESS,
            result=result,
            error_message=None,
            now=now,
            follow_up=child,
        )
        count(SUCCEEDED)
        logger.info("run succeeded", extra={"next_execution_id": None if created is None else created.id})
        if created is not None:
            await enqueue(self.store, self.queue, [QueuedRun.for_execution(created)], now=now)

    async def _end(
        self,
        execution: Execution,
        status: ExecutionStatus,
        error: str,
        result: Any,
        *,
        retryable: bool = True,
    ) -> Outcome:
        now = utcnow()
        logger.error("run did not succeed", extra={"status": status, "error_message": error})
        retry = await settle_failure(
            self.store, execution, status=status, error=error, result=result, now=now, retryable=retryable
        )
        if retry is None:
            return Outcome(status.value)
        await enqueue(self.store, self.queue, [retry], now=now)
        return Outcome.RETRYING
