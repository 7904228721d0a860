"""The data jobu stores and passes around: rows of the job store and the messages that travel.

Plain dataclasses, not pydantic models: every function reads and writes them, and the dispatchers'
cold start is the time they take to import (pydantic and the schemas of a dozen models were most
of what the dispatchers loaded beyond their floor: docs/performance.md). What comes from operators
and must be validated field by field (a cron job's definition) is a pydantic model in jobu.specs;
the admin API still validates and documents these dataclasses with pydantic, which reads them as
it reads its own models.

Rows come back from three drivers in three shapes (asyncpg decodes JSON and returns aware
datetimes; asyncmy and SQLite return JSON as text and naive UTC datetimes); `from_row` gives every
backend the same values. The field annotations say what each field is for that conversion
(UtcDatetime, JsonObject, JsonValue, DbBool) and, to pydantic, what type it is.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal, Self

from jobu.documents import FieldError, strict_dict, strict_int, strict_str
from jobu.provenance import ParamOrigin
from jobu.run_options import Debounce, Priority, RunOptions

# What a field is, for from_row (its annotation names one of these) and for pydantic (the type).
UtcDatetime = datetime  # an aware UTC datetime, whatever the driver handed back
JsonObject = dict[str, Any]  # a JSON object column: decoded when the driver returns text
JsonValue = Any  # any JSON column
DbBool = bool  # MySQL and SQLite hand booleans back as 0/1


def utc(value: Any) -> Any:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        if value.tzinfo is UTC:  # asyncpg's: as it is (a row of a Kafka batch has four)
            return value
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def _json_document(value: Any) -> Any:
    # a nullable JSON column reads as SQL NULL or, from some drivers, as the JSON text 'null'
    if isinstance(value, str | bytes | bytearray):
        return json.loads(value)
    return value


def _db_bool(value: Any) -> Any:
    return bool(value) if isinstance(value, int) else value


def _status(value: Any) -> ExecutionStatus:
    return ExecutionStatus(value)


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "UtcDatetime": utc,
    "JsonObject": _json_document,
    "JsonValue": _json_document,
    "DbBool": _db_bool,
    "ExecutionStatus": _status,
}


_ROW_PLANS: dict[type, tuple[tuple[str, Callable[[Any], Any] | None], ...]] = {}


def _row_plan(cls: type) -> tuple[tuple[str, Callable[[Any], Any] | None], ...]:
    """Each field of a row class, and how a driver's value becomes the field's (None: as it is)."""
    if cls not in _ROW_PLANS:
        plan = []
        for field in dataclasses.fields(cls):
            kind = str(field.type).split(" | ")[0]
            plan.append((field.name, _CONVERTERS.get(kind)))
        _ROW_PLANS[cls] = tuple(plan)
    return _ROW_PLANS[cls]


class Row:
    """A row of the job store, read from any backend's driver."""

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Self:
        """The row's fields (columns it does not have keep their defaults; others are ignored)."""
        row = row if isinstance(row, dict) else dict(row)  # a driver's record, keyed by column
        values = {}
        for name, convert in _row_plan(cls):
            if name in row:
                value = row[name]
                values[name] = value if convert is None or value is None else convert(value)
        return cls(**values)


class ExecutionStatus(StrEnum):
    """Life cycle of a job execution (transitions documented in docs/executions.md)."""

    WAITING = "WAITING"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    TIMEOUT = "TIMEOUT"
    CANCELLED = "CANCELLED"
    # not started by its expires_at: it never starts (docs/executions.md)
    EXPIRED = "EXPIRED"


ParamSource = ParamOrigin


# Limits of the original jobu's admin API, kept so its clients see the same refusals.
MAX_NAME_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 500
MAX_CRON_EXPRESSION_LENGTH = 100
MAX_RETRY_LIMIT = 10
MAX_HANDLER_NAME_LENGTH = 200
MAX_ID = 2**63 - 1  # the BIGINT ids of every backend
# A Lambda function runs at most 900 s, and the worker keeps a few seconds after the handler to store
# its result and queue a retry: no job may take longer than the difference (a worker with a shorter
# Timeout allows less, jobu.operations.cron_jobs.validate_spec).
LAMBDA_MAX_TIMEOUT_SECONDS = 900
WORKER_MARGIN_SECONDS = 5
MAX_JOB_TIMEOUT_SECONDS = LAMBDA_MAX_TIMEOUT_SECONDS - WORKER_MARGIN_SECONDS
MAX_ALERT_SECONDS = 7 * 86_400  # a missed/late alert fires within a week of its slot


OverlapPolicy = Literal["allow", "skip", "queue_one"]
CatchupPolicy = Literal["coalesce", "skip", "all"]
MAX_CATCHUP_LIMIT = 1000


def overlap_from(data: dict[str, Any]) -> dict[str, Any]:
    """`allow_overlap` (the original's boolean) and `overlap_policy`, made one: either may be given,
    or both if they agree; the other follows."""
    policy, allowed = data.get("overlap_policy"), data.get("allow_overlap")
    if policy is None and allowed is None:
        return data
    if policy is None:
        return {**data, "overlap_policy": "allow" if allowed else "skip"}
    if allowed is not None and bool(allowed) != (policy == "allow"):
        raise ValueError(
            f"allow_overlap={allowed} contradicts overlap_policy={policy!r}: give overlap_policy alone"
        )
    return {**data, "allow_overlap": policy == "allow"}


@dataclass
class CronJob(Row):
    id: int
    name: str
    description: str
    cron_expression: str
    handler_name: str
    handler_params: JsonObject
    is_enabled: DbBool
    timezone: str
    catchup_policy: CatchupPolicy
    catchup_limit: int
    catchup_window_seconds: int | None
    overlap_policy: OverlapPolicy
    allow_overlap: DbBool
    max_retry: int
    timeout_seconds: int
    next_run_at: UtcDatetime | None
    paused_at: UtcDatetime | None
    paused_until: UtcDatetime | None
    created_at: UtcDatetime
    updated_at: UtcDatetime
    # what the job's runs carry (jobu.run_options)
    priority: Priority = "normal"
    ttl_seconds: int | None = None
    tags: JsonValue | None = None
    concurrency_key: str | None = None
    # seconds after a slot by which its run must have started / finished, else MISSED / LATE
    alert_if_not_started_within: int | None = None
    alert_if_not_finished_within: int | None = None


@dataclass
class DueCronJob(Row):
    """What the tick reads of a due job: its schedule and policies, not its params (the runs' INSERT
    copies those in SQL)."""

    id: int
    name: str
    cron_expression: str
    timezone: str
    catchup_policy: CatchupPolicy
    catchup_limit: int
    catchup_window_seconds: int | None
    overlap_policy: OverlapPolicy
    next_run_at: UtcDatetime | None


# the longest enqueued_by a run keeps (migration 017): the principal's first characters
MAX_ENQUEUED_BY = 512


@dataclass
class Execution(Row):
    id: int
    job_id: int | None
    handler_name: str
    scheduled_time: UtcDatetime | None
    status: ExecutionStatus
    params: JsonObject
    param_source: ParamSource
    max_retry: int
    timeout_seconds: int
    retry_count: int
    available_at: UtcDatetime
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None
    deadline_at: UtcDatetime | None
    queued_at: UtcDatetime | None
    error_message: str | None
    result: JsonValue | None
    source_topic: str | None
    source_partition: int | None
    source_offset: int | None
    parent_execution_id: int | None
    created_at: UtcDatetime
    # which source each key of params came from, when they were merged (jobu.provenance)
    params_provenance: JsonObject | None = None
    # an operator asked to cancel this run while it was RUNNING (docs/executions.md)
    cancel_requested_at: UtcDatetime | None = None
    # the W3C traceparent of the Kafka record it came from, validated (jobu.traces)
    trace_parent: str | None = None
    # the request's flow control fields (jobu.run_options)
    idempotency_key: str | None = None
    priority: Priority = "normal"
    tags: JsonValue | None = None
    concurrency_key: str | None = None
    expires_at: UtcDatetime | None = None
    # the debounce key whose window this run is (jobu.store.debounce): left unsent until it may start
    debounce_key: str | None = None
    # the batch it is a child of (POST /api/batches): its end is counted there (jobu.store.batches)
    batch_id: int | None = None
    # its handler's limits (jobu.limits): None (none applied when it became runnable), 'queued'
    # (WAITING for a slot or its rate), 'admitted' (handed over under them: it holds a slot)
    limit_state: str | None = None
    # who enqueued it through the admin API (the request's principal; 'local' for the local
    # runtime): None for a run a cron job, a Kafka record, a retry or a callback made
    enqueued_by: str | None = None


@dataclass
class HandlerLimitsRow(Row):
    """A row of handler_limits: an operator's limits for a handler (overridden), or the row a
    handler with limits in its code gets on first use (the lock, the rate's state)."""

    handler_name: str
    overridden: DbBool
    concurrency: int | None
    per_key_concurrency: int | None
    rate_limit: int | None
    rate_period_seconds: int | None
    rate_burst: int | None
    rate_next_at: UtcDatetime | None
    updated_at: UtcDatetime
    # the concurrency key of the run handed over last ('' for no key): keys take turns after it
    last_key: str | None = None
    updated_by: str | None = None
    # the runs of its line, at least (a hint the end of a run reads: 0, nothing to promote)
    waiting: int = 0
    # the rate's next due time for the handler's actual starts (the workers' claims: take_start)
    started_next_at: UtcDatetime | None = None


@dataclass
class RunRef(Row):
    """What the tick and the queue dispatcher read back of the runs they created: enough to queue them
    and say so, without their params (a tick may create 10,000, a Kafka batch thousands)."""

    id: int
    job_id: int | None
    handler_name: str
    scheduled_time: UtcDatetime | None
    status: ExecutionStatus
    retry_count: int
    queued_at: UtcDatetime | None
    # from when it may start (its handler's rate may hand it over for later: jobu.store.limits)
    available_at: UtcDatetime | None = None
    # its handler's limits' mark (Execution.limit_state): a Kafka batch's admission reads it
    limit_state: str | None = None


@dataclass
class NewExecution:
    """An execution about to be inserted by a dispatcher."""

    job_id: int | None
    handler_name: str
    params: dict[str, Any]
    param_source: ParamSource
    max_retry: int
    timeout_seconds: int
    scheduled_time: datetime | None = None
    source_topic: str | None = None
    source_partition: int | None = None
    source_offset: int | None = None
    parent_execution_id: int | None = None
    params_provenance: dict[str, ParamOrigin] | None = None
    trace_parent: str | None = None
    # the request's flow control fields (jobu.run_options), resolved against the clock
    available_at: datetime | None = None
    expires_at: datetime | None = None
    idempotency_key: str | None = None
    idempotency_expires_at: datetime | None = None
    priority: Priority = "normal"
    tags: list[str] | None = None
    concurrency_key: str | None = None
    debounce: Debounce | None = None  # the run request's debounce (jobu.store.debounce)


@dataclass
class Batch(Row):
    """A batch of runs (POST /api/batches): how many children, how many ended with each final status,
    and the callback runs its last child's end made (jobu.store.batches)."""

    id: int
    total: int
    succeeded: int
    failed: int
    timed_out: int
    cancelled: int
    expired: int
    status: str  # RUNNING, then SUCCESS, FAILED or CANCELLED once every child ended
    on_success: JsonObject | None
    on_complete: JsonObject | None
    success_run_id: int | None
    complete_run_id: int | None
    created_by: str
    created_at: UtcDatetime
    cancelled_at: UtcDatetime | None
    finished_at: UtcDatetime | None
    idempotency_key: str | None = None  # the key a retried request finds it by (migration 019)

    @property
    def ended(self) -> int:
        return self.succeeded + self.failed + self.timed_out + self.cancelled + self.expired

    def counts(self) -> dict[str, int]:
        """The children's ends by final status, as a callback's params carry them."""
        return {
            "total": self.total,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "timed_out": self.timed_out,
            "cancelled": self.cancelled,
            "expired": self.expired,
        }


@dataclass(frozen=True)
class JobMessage:
    """The Kafka message that asks for a run: {"handler_name", "params", "job_id"} and the flow
    control fields (jobu.run_options)."""

    handler_name: str
    params: dict[str, Any]
    job_id: int | None = None
    options: RunOptions = dataclasses.field(default_factory=RunOptions)

    @classmethod
    def parse(cls, document: Mapping[str, Any]) -> JobMessage:
        """The message in a JSON object (other keys are ignored); FieldError says which field is
        wrong. job_id is strict: true, 1.5 or "7" are not ids; it is bounded by the BIGINT column."""
        name = strict_str(document, "handler_name", min_length=1, max_length=MAX_HANDLER_NAME_LENGTH)
        params = strict_dict(document, "params", default={})
        job_id = strict_int(document, "job_id", ge=1, le=MAX_ID, default=None)
        assert name is not None
        assert params is not None
        return cls(handler_name=name, params=params, job_id=job_id, options=RunOptions.parse(document))


@dataclass(frozen=True)
class WorkMessage:
    """The SQS message body: which execution to run, and which attempt of it the message is for."""

    execution_id: int
    attempt: int

    def to_json(self) -> str:
        return json.dumps({"execution_id": self.execution_id, "attempt": self.attempt}, separators=(",", ":"))

    @classmethod
    def from_json(cls, body: str) -> WorkMessage:
        """The message in a body; FieldError when the body is not one (field `body`: not JSON, or
        not an object)."""
        try:
            document = json.loads(body)
        except ValueError:
            raise FieldError("body", "Invalid JSON") from None
        if not isinstance(document, dict):
            raise FieldError("body", "Input should be an object")
        execution_id = strict_int(document, "execution_id", ge=1, le=MAX_ID)
        attempt = strict_int(document, "attempt", ge=0, le=2**31 - 1)
        assert execution_id is not None
        assert attempt is not None
        return cls(execution_id=execution_id, attempt=attempt)


@dataclass
class NotificationRuleRow(Row):
    """A notification rule as stored (its events are rows of their own; jobu.notifications)."""

    id: int
    handler_name: str
    webhook_url: str | None
    sns_topic_arn: str | None
    secret: str | None
    is_enabled: DbBool
    created_at: UtcDatetime
    updated_at: UtcDatetime


@dataclass
class NotificationRow(Row):
    """One notification of the outbox: a run's outcome (or a cron slot's miss) for one rule."""

    id: int
    rule_id: int
    execution_id: int | None
    job_id: int | None
    event: str
    dedup_key: str
    state: str
    attempts: int
    next_attempt_at: UtcDatetime
    last_error: str | None
    response_status: int | None
    delivered_at: UtcDatetime | None
    created_at: UtcDatetime
    slot: UtcDatetime | None = None
    webhook_url: str | None = None
    sns_topic_arn: str | None = None
    secret: str | None = None
