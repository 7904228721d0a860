"""The worker's work for one SQS message: claim the run, execute its handler, store the outcome.

A worker runs the handlers of one pool (jobu.pools); a run of another pool's handler, sent to
this pool's queue by mistake (a hand-made message, a redrive to the wrong queue, a handler moved to
another pool while its run waited), ends FAILED at once with the reason: retrying it here cannot help.

Transitions (docs/executions.md): PENDING -claim-> RUNNING -> SUCCESS | FAILED | TIMEOUT, or
back to PENDING with retry_count + 1 when retries are left. A message whose run is not PENDING
at the message's attempt is a duplicate and does nothing; a PENDING run never started by its
expires_at is refused by the claim and ends EXPIRED. A run of a rate-limited handler whose rate
allows no start now (its message came late, with others) is put back PENDING for its next time
and sent with that delay (DEFERRED).

A transactional handler (BaseHandler.transactional) runs inside one transaction that also
records its SUCCESS: its writes and the outcome commit together, or neither does.

Statements: the claim returns the run it claimed (one statement; two on MySQL), and a run without
a follow-up ends with one UPDATE, outside any transaction. A run takes one pooled connection for
its claim; a transactional run keeps it for its transaction, any other run gives it back before
its handler starts (a handler may take minutes, and may want connections of its own).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from jobu.clock import utcnow
from jobu.config import RetryPolicy
from jobu.documents import FieldError
from jobu.errors import JobuError, NonRetryableError, RetryAfter, StoreUnavailableError, UnknownHandlerError
from jobu.handler_manifest import handler_pool, import_pool_handlers, known_handler_names
from jobu.handlers import (
    BaseHandler,
    Database,
    HandlerContext,
    HandlerResult,
    base_params_problem,
    get_handler,
    takes_model,
)
from jobu.models import WORKER_MARGIN_SECONDS, Execution, ExecutionStatus, NewExecution, WorkMessage
from jobu.notifications import deliver_after_outcome
from jobu.observability import EXPIRED, SUCCEEDED, THROTTLED, annotate_trace, count, logger
from jobu.params_schema import run_params
from jobu.pools import DEFAULT_POOL
from jobu.retries import CANCELLED_REASON, limited_handler, settle_failure
from jobu.run_database import HandlerDatabase, TransactionDatabase
from jobu.run_metrics import run_ended, run_started
from jobu.store import JobStore
from jobu.store.runs import Deferred, Finished
from jobu.traces import TraceParent
from jobu.work_queue import WorkQueue, enqueue, ready_runs

# Time kept back from the Lambda's remaining time to store the outcome after a handler stops.
TIMEOUT_MARGIN_SECONDS = float(WORKER_MARGIN_SECONDS)
# How often a running handler's run is looked at for an operator's cancel request.
CANCEL_POLL_SECONDS = 2.0


class NotEnoughTimeError(JobuError):
    """Too little of the invocation is left to run anything; the message is left for redelivery."""


def _expiring(execution: Execution, now: datetime) -> bool:
    """A run the claim refused because it was never started by its expires_at."""
    return (
        execution.status in (ExecutionStatus.WAITING, ExecutionStatus.PENDING)
        and execution.started_at is None
        and execution.expires_at is not None
        and execution.expires_at <= now
    )


class Outcome(StrEnum):
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    TIMEOUT = "TIMEOUT"
    RETRYING = "RETRYING"
    DUPLICATE = "DUPLICATE"
    MISSING = "MISSING"
    DEAD_LETTERED = "DEAD_LETTERED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    DEFERRED = "DEFERRED"


class PermanentError(Exception):
    """The run cannot succeed however often it is tried (bad params, unknown handler)."""


@dataclass(frozen=True)
class FollowUp:
    """`on_success` or `on_failure` in a run's params: the run to create when this one succeeds, or
    when it ends FAILED or TIMEOUT for good (made by jobu.retries, which checks the link by hand
    too). Other keys of the link are ignored."""

    handler_name: str
    params: dict[str, Any]

    @classmethod
    def parse(cls, key: str, link: Any) -> FollowUp:
        if not isinstance(link, dict):
            raise PermanentError(f"invalid params: {key} must be an object {{handler_name, params}}")
        name, params = link.get("handler_name"), link.get("params", {})
        if not isinstance(name, str) or not name:
            raise PermanentError(f"invalid params: {key}.handler_name must be a non-empty string")
        if not isinstance(params, dict):
            raise PermanentError(f"invalid params: {key}.params must be an object")
        return cls(name, params)


@dataclass(frozen=True)
class Failure:
    """How a handler did not succeed: the status to record, the error, and any result it returned."""

    status: ExecutionStatus
    error: str
    result: Any = None
    retryable: bool = True
    # a wait the handler asked for (RetryAfter), instead of the backoff
    retry_after: float | None = None


class _RollBack(Exception):
    """Leaves a transactional run's transaction without committing; carries why."""

    def __init__(self, failure: Failure | None) -> None:
        self.failure = failure


@dataclass(frozen=True)
class _Run:
    """A claimed run ready for its handler."""

    execution: Execution
    handler_cls: type[BaseHandler]
    params: Any  # HandlerParams, or the handler's pydantic params model
    follow_up: FollowUp | None
    budget: float
    # the runs the handler wrote (a batch's), unsent: sent once they are committed
    made: list[Execution] = field(default_factory=list)


@dataclass(frozen=True)
class _Failed:
    """A claimed run that cannot start (unknown handler, bad params)."""

    execution: Execution
    failure: Failure


def _time_left(ends_at: float) -> float:
    """Seconds left in the invocation; NotEnoughTimeError when too few to run anything."""
    remaining = round(ends_at - time.monotonic(), 3)  # milliseconds, as Lambda counts them
    if remaining <= TIMEOUT_MARGIN_SECONDS:
        raise NotEnoughTimeError(f"{remaining:.1f}s left in this invocation; the message will be redelivered")
    return remaining


def parse_work_message(body: str) -> WorkMessage | str:
    """The message, or why it can never be one (it is then dead-lettered, not redelivered)."""
    try:
        return WorkMessage.from_json(body)
    except FieldError as error:
        return f"not a work message: {error.field}: {error.message}"


def _continued(trace_parent: str | None) -> str | None:
    """The traceparent a handler sends onwards: the run's trace, a span of the worker's own."""
    trace = TraceParent.parse(trace_parent)
    return None if trace is None else str(trace.child())


def idempotency_key(execution: Execution) -> str:
    # the id is unique within one store; its creation time tells two stores' run 42 apart
    return f"jobu-run-{execution.id}-{execution.created_at:%Y%m%dT%H%M%S%fZ}"


def _handler_of(name: str, pool: str) -> type[BaseHandler]:
    """The handler class this worker runs under `name`; PermanentError when it runs elsewhere."""
    try:
        handler_cls = get_handler(name)
    except UnknownHandlerError as error:
        if name not in known_handler_names():
            raise PermanentError(str(error)) from None
        handler_cls = None
    runs_in = handler_pool(name) if handler_cls is None else handler_cls.pool
    if handler_cls is None or runs_in != pool:
        raise PermanentError(
            f"handler {name!r} runs in pool {runs_in!r}, not in this worker's pool {pool!r}: "
            f"its message was sent to the wrong queue"
        )
    return handler_cls


def _prepare(execution: Execution, pool: str) -> tuple[type[BaseHandler], Any, FollowUp | None]:
    handler_cls = _handler_of(execution.handler_name, pool)
    params = _params(handler_cls, execution.params)
    raw_follow_up = execution.params.get("on_success")
    follow_up = None if raw_follow_up is None else FollowUp.parse("on_success", raw_follow_up)
    if follow_up is not None:
        _check_known(follow_up.handler_name)
    # the run on_failure names is made by settle_failure; a bad link fails the run now, as on_success's
    raw_on_failure = execution.params.get("on_failure")
    if raw_on_failure is not None:
        _check_known(FollowUp.parse("on_failure", raw_on_failure).handler_name)
    return handler_cls, params, follow_up


def _params(handler_cls: type[BaseHandler], raw: dict[str, Any]) -> Any:
    """What the handler's execute() gets: the params checked against its schema (its defaults
    filled in), or validated into its pydantic model; PermanentError saying what is wrong."""
    if takes_model(handler_cls):
        try:
            return handler_cls.params_model.model_validate(raw)
        except ValueError as error:  # pydantic's ValidationError is a ValueError
            raise PermanentError(f"invalid params: {_first_error(error)}") from None
    if handler_cls.params_schema is not None:
        checked = run_params(handler_cls.params_schema, raw)
        if isinstance(checked, str):
            raise PermanentError(f"invalid params: {checked}")
        raw = checked
    else:
        problem = base_params_problem(raw)
        if problem is not None:
            raise PermanentError(f"invalid params: {problem}")
    return handler_cls.params_model(**raw)


def _first_error(error: ValueError) -> str:
    """pydantic's first problem as `('field',): message`, without importing pydantic."""
    errors = getattr(error, "errors", None)
    if callable(errors) and errors():
        first = errors()[0]
        return f"{first['loc']}: {first['msg']}"
    return str(error)


def _check_known(name: str) -> None:
    """A follow-up may run in any pool: its handler must exist somewhere (the manifest), or here."""
    if name not in known_handler_names():
        try:
            get_handler(name)
        except UnknownHandlerError as error:
            raise PermanentError(str(error)) from None


def _failure(error: Exception, *, timed_out: bool, budget: float) -> Failure:
    """How a handler's exception ends its attempt."""
    if isinstance(error, TimeoutError) and timed_out:
        return Failure(ExecutionStatus.TIMEOUT, f"timed out after {budget:g}s")
    if isinstance(error, RetryAfter):
        return Failure(ExecutionStatus.FAILED, f"RetryAfter: {error}", retry_after=error.seconds)
    if not isinstance(error, TimeoutError):
        logger.exception("handler raised")
    # the handler may say retrying cannot help (e.g. a refused path or table)
    retryable = not isinstance(error, NonRetryableError)
    return Failure(ExecutionStatus.FAILED, f"{type(error).__name__}: {error}", retryable=retryable)


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


class _CancelWatch:
    """Polls the run's cancel_requested_at while its handler runs, and cancels the handler when an
    operator asked: the handler sees asyncio.CancelledError, a transactional one's writes roll back."""

    def __init__(self, store: JobStore, execution: Execution, handler: asyncio.Task[Any]) -> None:
        self.requested = False
        self._store, self._execution, self._handler = store, execution, handler

    async def watch(self) -> None:
        while not self._handler.done():
            await asyncio.sleep(CANCEL_POLL_SECONDS)
            try:
                run = self._execution
                requested = await self._store.runs.cancel_requested(
                    run.id, attempt=run.retry_count, started_at=run.started_at
                )
            except StoreUnavailableError:
                continue  # the next look may reach it; the run goes on meanwhile
            if requested and not self._handler.done():
                self.requested = True
                self._handler.cancel(CANCELLED_REASON)
                return


class Worker:
    def __init__(
        self, store: JobStore, queue: WorkQueue, retry_policy: RetryPolicy, *, pool: str = DEFAULT_POOL
    ) -> None:
        self.store = store
        self.queue = queue
        self.retry_policy = retry_policy
        self.pool = pool
        import_pool_handlers(pool)  # once per pool and process: the entry point did it at init

    async def process(self, message: WorkMessage, *, remaining_seconds: float) -> Outcome:
        ends_at = time.monotonic() + remaining_seconds
        _time_left(ends_at)
        settled: Finished | Failure | Outcome | None = None
        async with self.store.connector.connection() as conn:
            # nothing else is taken from the pool while this is held: a pool of one cannot deadlock
            run = await self._claim(conn, message, _time_left(ends_at))
            if isinstance(run, Outcome):
                return run
            if isinstance(run, _Failed):
                settled = run.failure
            elif isinstance(run, _Run) and run.handler_cls.transactional:
                settled = await self._run_in_transaction(conn, run)
        if isinstance(run, Deferred):  # sent once the connection is back (a pool of one)
            return await self._deferred(run, utcnow())
        if settled is None:  # the connection is back in the pool: the handler may take minutes
            assert isinstance(run, _Run)
            settled = await self._run(run)
        return await self._settle(run.execution, settled, made=run.made if isinstance(run, _Run) else [])

    async def _claim(
        self, conn: Any, message: WorkMessage, remaining_seconds: float
    ) -> _Run | _Failed | Deferred | Outcome:
        now = utcnow()
        execution = await self.store.runs.claim(
            message.execution_id,
            attempt=message.attempt,
            now=now,
            deadline_at=now + timedelta(seconds=remaining_seconds),
            margin=timedelta(seconds=TIMEOUT_MARGIN_SECONDS),
            conn=conn,
        )
        if execution is None:
            return await self._unclaimed(conn, message, now)
        if isinstance(execution, Deferred):
            return execution
        trace = TraceParent.parse(execution.trace_parent)
        logger.thread_safe_append_keys(
            execution_id=execution.id,
            job_id=execution.job_id,
            handler_name=execution.handler_name,
            trace_id=None if trace is None else trace.trace_id,  # None: no key on the line
        )
        if trace is not None:
            annotate_trace("trace_id", trace.trace_id)
        run_started(execution, now)
        budget = min(float(execution.timeout_seconds), remaining_seconds - TIMEOUT_MARGIN_SECONDS)
        logger.info("run started", extra={"attempt": message.attempt, "budget_seconds": budget})
        try:
            handler_cls, params, follow_up = _prepare(execution, self.pool)
        except PermanentError as error:
            # retrying cannot help: end the run now, whatever max_retry says
            return _Failed(execution, Failure(ExecutionStatus.FAILED, str(error), retryable=False))
        return _Run(execution, handler_cls, params, follow_up, budget)

    async def _deferred(self, deferred: Deferred, now: datetime) -> Outcome:
        """The claim found its handler's rate used up (messages handed over for their times reached
        workers late, together): the run waits PENDING for its next time, sent with that delay (the
        sweeper sends it if this send fails, or beyond SQS's 900 s); this message is done."""
        count(THROTTLED)
        run = deferred.run
        if run is not None:
            logger.thread_safe_append_keys(
                execution_id=run.id, job_id=run.job_id, handler_name=run.handler_name
            )
            logger.info(
                "run deferred: its handler's rate allows no start now", extra={"until": run.available_at}
            )
            await enqueue(self.store, self.queue, ready_runs([run], now), now=now)
        return Outcome.DEFERRED

    async def _unclaimed(self, conn: Any, message: WorkMessage, now: datetime) -> Outcome:
        """The claim refused the message: no such run, one that is someone else's, or one never
        started by its expires_at, which ends EXPIRED here."""
        execution = await self.store.runs.get(message.execution_id, conn=conn)
        if execution is None:
            logger.warning(
                "message for a run that does not exist", extra={"execution_id": message.execution_id}
            )
            return Outcome.MISSING
        logger.thread_safe_append_keys(
            execution_id=execution.id, job_id=execution.job_id, handler_name=execution.handler_name
        )
        released: list[Execution] = []
        if _expiring(execution, now) and await self.store.runs.expire(
            execution.id, now=now, conn=conn, released=released
        ):
            logger.warning("run expired: not started by its expires_at; it never starts")
            count(EXPIRED)
            await enqueue(self.store, self.queue, ready_runs(released, now), now=now)
            return Outcome.EXPIRED
        logger.info(
            "duplicate delivery ignored",
            extra={
                "status": execution.status,
                "retry_count": execution.retry_count,
                "attempt": message.attempt,
            },
        )
        return Outcome.DUPLICATE

    async def _run(self, run: _Run) -> Finished | Failure:
        database = HandlerDatabase(self.store.connector)
        database.made = run.made  # committed as they are written: sent whatever the run's end
        outcome = await self._execute(run.execution, run.handler_cls, run.params, run.budget, database)
        if isinstance(outcome, Failure):
            return outcome
        return await self._finish(run.execution, outcome, run.follow_up, conn=None)

    async def _run_in_transaction(self, conn: Any, run: _Run) -> Finished | Failure | Outcome:
        try:
            async with self.store.connector.transaction_on(conn):
                database = TransactionDatabase(self.store.connector, conn)
                database.made = run.made  # sent only if the run's transaction commits
                outcome = await self._execute(
                    run.execution, run.handler_cls, run.params, run.budget, database
                )
                if isinstance(outcome, Failure):
                    raise _RollBack(outcome)
                finished = await self._finish(run.execution, outcome, run.follow_up, conn=conn)
                if not finished.finished:
                    raise _RollBack(None)
        except _RollBack as rolled_back:
            run.made.clear()  # rolled back with the run: nothing to send
            if rolled_back.failure is None:
                logger.warning("run settled by another actor first: its writes were rolled back")
                return Outcome.DUPLICATE
            return rolled_back.failure
        return finished

    async def _settle(
        self, execution: Execution, settled: Finished | Failure | Outcome, *, made: Sequence[Execution]
    ) -> Outcome:
        """After the run's connection went back to the pool: retry or record a failure, queue a
        follow-up or the job's waiting run, and the runs the handler wrote (`made`, committed)."""
        if isinstance(settled, Outcome):
            return settled
        if isinstance(settled, Failure):
            return await self._end(execution, settled, made=made)
        return await self._succeeded(execution, settled, made=made)

    async def _execute(
        self,
        execution: Execution,
        handler_cls: type[BaseHandler],
        params: Any,
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
            trace_parent=_continued(execution.trace_parent),
        )
        scope = asyncio.timeout(budget)

        async def bounded() -> Any:
            async with scope:
                return await handler_cls(context).execute(params)

        handler_task = asyncio.create_task(bounded())
        watch = _CancelWatch(self.store, execution, handler_task)
        watcher = asyncio.create_task(watch.watch())
        try:
            result = HandlerResult.model_validate(await handler_task)
        except asyncio.CancelledError:
            if not watch.requested:
                raise  # the worker itself is being stopped
            return Failure(ExecutionStatus.CANCELLED, CANCELLED_REASON, retryable=False)
        except Exception as error:
            return _failure(error, timed_out=scope.expired(), budget=budget)
        finally:
            watcher.cancel()
            handler_task.cancel()  # a no-op once it is done; stops it if this worker was stopped
        stored = result.model_dump(mode="json")
        if not result.success:
            return Failure(ExecutionStatus.FAILED, result.error or "handler returned success=false", stored)
        return stored

    async def _finish(
        self, execution: Execution, result: dict[str, Any], follow_up: FollowUp | None, *, conn: Any
    ) -> Finished:
        return await self.store.runs.finish(
            execution.id,
            attempt=execution.retry_count,
            status=ExecutionStatus.SUCCESS,
            result=result,
            error_message=None,
            now=utcnow(),
            follow_up=_follow_up_run(execution, follow_up),
            conn=conn,
            job_id=execution.job_id,
            batch_id=execution.batch_id,
            limited=limited_handler(execution),
        )

    async def _succeeded(
        self, execution: Execution, finished: Finished, *, made: Sequence[Execution]
    ) -> Outcome:
        if not finished.finished:
            logger.warning("run settled by another actor first (the sweeper, past its deadline)")
            return Outcome.DUPLICATE
        count(SUCCEEDED)
        run_ended(execution.handler_name, ExecutionStatus.SUCCESS)
        created = finished.follow_up
        logger.info("run succeeded", extra={"next_execution_id": None if created is None else created.id})
        # the follow-up, the queue_one run the end promoted, the runs its handler's limits let through,
        # its batch's callbacks if it was the last, the runs the handler wrote (a fan-out's batch: now,
        # not at the sweeper's next tick)
        now = utcnow()
        next_runs = ready_runs(
            (created, finished.promoted, *finished.released, *finished.callbacks, *made), now
        )
        await enqueue(self.store, self.queue, next_runs, now=now)
        await deliver_after_outcome(self.store, execution.id, finished.notifications, now=utcnow())
        return Outcome.SUCCESS

    async def _end(self, execution: Execution, failure: Failure, *, made: Sequence[Execution]) -> Outcome:
        now = utcnow()
        logger.error("run did not succeed", extra={"status": failure.status, "error_message": failure.error})
        to_send = await settle_failure(  # its retry, or the WAITING run its end promoted
            self.store,
            execution,
            status=failure.status,
            error=failure.error,
            result=failure.result,
            now=now,
            policy=self.retry_policy,
            retryable=failure.retryable,
            retry_after=failure.retry_after,
        )
        # and the runs a handler that is not transactional wrote before it failed: they stand
        await enqueue(self.store, self.queue, [*to_send, *ready_runs(made, now)], now=now)
        retried = any(run.execution_id == execution.id for run in to_send)
        return Outcome.RETRYING if retried else Outcome(failure.status.value)
