"""The worker's work for one SQS message: claim the run, execute its handler, store the outcome.

Transitions (docs/executions.md): PENDING -claim-> RUNNING -> SUCCESS | FAILED | TIMEOUT, or
back to PENDING with retry_count + 1 when retries are left. A message whose run is not PENDING
at the message's attempt is a duplicate and does nothing.

A transactional handler (BaseHandler.transactional) runs inside one transaction that also
records its SUCCESS: its writes and the outcome commit together, or neither does.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from jobu.clock import utcnow
from jobu.errors import JobuError, NonRetryableError, UnknownHandlerError
from jobu.handlers import BaseHandler, Database, HandlerContext, HandlerParams, HandlerResult, get_handler
from jobu.models import Execution, ExecutionStatus, NewExecution, WorkMessage
from jobu.observability import SUCCEEDED, count, logger
from jobu.retries import settle_failure
from jobu.run_database import HandlerDatabase, TransactionDatabase
from jobu.store import JobStore
from jobu.store.job_store import Finished
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
    DEAD_LETTERED = "DEAD_LETTERED"


class FollowUp(BaseModel):
    """`on_success` in a run's params: the run to create when this one succeeds."""

    handler_name: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)


class PermanentError(Exception):
    """The run cannot succeed however often it is tried (bad params, unknown handler)."""


@dataclass(frozen=True)
class Failure:
    """How a handler did not succeed: the status to record, the error, and any result it returned."""

    status: ExecutionStatus
    error: str
    result: Any = None
    retryable: bool = True


class _RollBack(Exception):
    """Leaves a transactional run's transaction without committing; carries why."""

    def __init__(self, failure: Failure | None) -> None:
        self.failure = failure


def parse_work_message(body: str) -> WorkMessage | str:
    """The message, or why it can never be one (it is then dead-lettered, not redelivered)."""
    try:
        return WorkMessage.model_validate_json(body)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(map(str, first["loc"])) or "body"
        return f"not a work message: {field}: {first['msg']}"


def idempotency_key(execution: Execution) -> str:
    # the id is unique within one store; its creation time tells two stores' run 42 apart
    return f"jobu-run-{execution.id}-{execution.created_at:%Y%m%dT%H%M%S%fZ}"


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


def _follow_up_run(execution: Execution, follow_up: FollowUp | None) -> NewExecution | None:
    if follow_up is None:
        return None
    return NewExecution(
        job_id=None,
        handler_name=follow_up.handler_name,
        params=follow_up.params,
        param_source="event",
        max_retry=execution.max_retry,
        timeout_seconds=execution.timeout_seconds,
        parent_execution_id=execution.id,
    )


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
            return await self._end(execution, Failure(ExecutionStatus.FAILED, str(error), retryable=False))
        if handler_cls.transactional:
            return await self._run_in_transaction(execution, handler_cls, params, budget, follow_up)
        database = HandlerDatabase(self.store.connector)
        outcome = await self._execute(execution, handler_cls, params, budget, database)
        if isinstance(outcome, Failure):
            return await self._end(execution, outcome)
        finished = await self._finish(execution, outcome, follow_up, conn=None)
        return await self._succeeded(finished)

    async def _run_in_transaction(
        self,
        execution: Execution,
        handler_cls: type[BaseHandler],
        params: HandlerParams,
        budget: float,
        follow_up: FollowUp | None,
    ) -> Outcome:
        try:
            async with self.store.connector.transaction() as conn:
                database = TransactionDatabase(self.store.connector, conn)
                outcome = await self._execute(execution, handler_cls, params, budget, database)
                if isinstance(outcome, Failure):
                    raise _RollBack(outcome)
                finished = await self._finish(execution, outcome, follow_up, conn=conn)
                if not finished.finished:
                    raise _RollBack(None)
        except _RollBack as rolled_back:
            if rolled_back.failure is None:
                logger.warning("run settled by another actor first: its writes were rolled back")
                return Outcome.DUPLICATE
            return await self._end(execution, rolled_back.failure)
        return await self._succeeded(finished)

    async def _execute(
        self,
        execution: Execution,
        handler_cls: type[BaseHandler],
        params: HandlerParams,
        budget: float,
        database: Database,
    ) -> dict[str, Any] | Failure:
        """Run the handler under its budget: its stored result, or how it failed."""
        context = HandlerContext(
            execution_id=execution.id,
            job_id=execution.job_id,
            handler_name=execution.handler_name,
            retry_count=execution.retry_count,
            database=database,
            idempotency_key=idempotency_key(execution),
        )
        scope = asyncio.timeout(budget)
        try:
            async with scope:
                returned = await handler_cls(context).execute(params)
            result = HandlerResult.model_validate(returned)
        except TimeoutError as error:
            if scope.expired():
                return Failure(ExecutionStatus.TIMEOUT, f"timed out after {budget:g}s")
            return Failure(ExecutionStatus.FAILED, f"TimeoutError: {error}")
        except Exception as error:
            logger.exception("handler raised")
            # the handler may say retrying cannot help (e.g. a refused path or table)
            retryable = not isinstance(error, NonRetryableError)
            return Failure(ExecutionStatus.FAILED, f"{type(error).__name__}: {error}", retryable=retryable)
        stored = result.model_dump(mode="json")
        if not result.success:
            return Failure(ExecutionStatus.FAILED, result.error or "handler returned success=false", stored)
        return stored

    async def _finish(
        self, execution: Execution, result: dict[str, Any], follow_up: FollowUp | None, *, conn: Any
    ) -> Finished:
        return await self.store.finish_execution(
            execution.id,
            attempt=execution.retry_count,
            status=ExecutionStatus.SUCCESS,
            result=result,
            error_message=None,
            now=utcnow(),
            follow_up=_follow_up_run(execution, follow_up),
            conn=conn,
        )

    async def _succeeded(self, finished: Finished) -> Outcome:
        if not finished.finished:
            logger.warning("run settled by another actor first (the sweeper, past its deadline)")
            return Outcome.DUPLICATE
        count(SUCCEEDED)
        created = finished.follow_up
        logger.info("run succeeded", extra={"next_execution_id": None if created is None else created.id})
        if created is not None:
            await enqueue(self.store, self.queue, [QueuedRun.for_execution(created)], now=utcnow())
        return Outcome.SUCCESS

    async def _end(self, execution: Execution, failure: Failure) -> Outcome:
        now = utcnow()
        logger.error("run did not succeed", extra={"status": failure.status, "error_message": failure.error})
        retry = await settle_failure(
            self.store,
            execution,
            status=failure.status,
            error=failure.error,
            result=failure.result,
            now=now,
            retryable=failure.retryable,
        )
        if retry is None:
            return Outcome(failure.status.value)
        await enqueue(self.store, self.queue, [retry], now=now)
        return Outcome.RETRYING
