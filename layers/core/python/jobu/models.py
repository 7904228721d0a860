"""The data jobu stores and passes around, as pydantic models.

Rows come back from three drivers in three shapes (asyncpg decodes JSON and returns aware
datetimes; asyncmy and SQLite return JSON as text and naive UTC datetimes); the validators here
give every backend the same models.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    field_validator,
    model_validator,
)

from jobu.documents import text_problem
from jobu.provenance import ParamOrigin

# Params are stored as JSON and travel in SQS only by reference, but an unbounded document
# would still bloat rows, logs and handler memory: refuse anything larger than SQS's own limit.


def _utc(value: Any) -> Any:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def _json_document(value: Any) -> Any:
    if isinstance(value, str | bytes | bytearray):
        return json.loads(value)
    return value


def _storable(value: str) -> str:
    problem = text_problem(value, "text")
    if problem:
        raise ValueError(problem)
    return value


def _as_bool(value: Any) -> Any:
    # MySQL and SQLite hand booleans back as 0/1
    return bool(value) if isinstance(value, int) else value


UtcDatetime = Annotated[datetime, BeforeValidator(_utc)]
JsonObject = Annotated[dict[str, Any], BeforeValidator(_json_document)]
# a nullable JSON column: SQL NULL, or (as some drivers hand it back) the JSON text 'null'
OptionalJsonObject = Annotated[dict[str, Any] | None, BeforeValidator(_json_document)]
JsonValue = Annotated[Any, BeforeValidator(_json_document)]
DbBool = Annotated[bool, BeforeValidator(_as_bool)]
# Text an operator sends that every backend can store: no NUL character, no lone surrogate.
StorableText = Annotated[str, AfterValidator(_storable)]


class ExecutionStatus(StrEnum):
    """Life cycle of a job execution (transitions documented in docs/executions.md)."""

    WAITING = "WAITING"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    TIMEOUT = "TIMEOUT"
    CANCELLED = "CANCELLED"


ParamSource = ParamOrigin


# Limits of the original jobu's admin API, kept so its clients see the same refusals.
MAX_NAME_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 500
MAX_CRON_EXPRESSION_LENGTH = 100
MAX_RETRY_LIMIT = 10


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


class CronJobSpec(BaseModel):
    """What a user gives to create a cron job; validated by jobu.operations.cron_jobs.create."""

    model_config = ConfigDict(extra="forbid")

    name: StorableText = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    cron_expression: StorableText = Field(min_length=1, max_length=MAX_CRON_EXPRESSION_LENGTH)
    handler_name: StorableText = Field(min_length=1, max_length=200)
    handler_params: dict[str, Any] = Field(default_factory=dict)
    description: StorableText = Field(default="", max_length=MAX_DESCRIPTION_LENGTH)
    is_enabled: bool = True
    # the IANA time zone the expression is read in (docs/scheduling.md)
    timezone: StorableText = Field(default="UTC", min_length=1, max_length=64)
    catchup_policy: CatchupPolicy = "coalesce"
    catchup_limit: int = Field(default=10, ge=1, le=MAX_CATCHUP_LIMIT)
    catchup_window_seconds: int | None = Field(
        default=None, ge=0, description="missed slots older than this are dropped; null or 0: no window"
    )
    overlap_policy: OverlapPolicy = "allow"
    # the original's boolean: true is overlap_policy 'allow', false is 'skip'
    allow_overlap: bool = True
    max_retry: int = Field(default=0, ge=0, le=MAX_RETRY_LIMIT)
    # bounded above by the worker's own Timeout (jobu.operations.cron_jobs.validate_spec)
    timeout_seconds: int = Field(default=300, ge=1, le=900)

    @model_validator(mode="before")
    @classmethod
    def _one_overlap_setting(cls, data: Any) -> Any:
        return overlap_from(data) if isinstance(data, dict) else data

    @field_validator("catchup_window_seconds")
    @classmethod
    def _zero_is_no_window(cls, seconds: int | None) -> int | None:
        # stored as NULL: a window of 0 s would drop every missed slot, which `skip` says better
        return seconds or None


class CronJob(BaseModel):
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


class DueCronJob(BaseModel):
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


class Execution(BaseModel):
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
    params_provenance: OptionalJsonObject = None
    # an operator asked to cancel this run while it was RUNNING (docs/executions.md)
    cancel_requested_at: UtcDatetime | None = None


class RunRef(BaseModel):
    """What the tick reads back of the runs it created: enough to queue them and say so, without
    their params (a tick may create 10,000)."""

    id: int
    job_id: int | None
    handler_name: str
    scheduled_time: UtcDatetime | None
    status: ExecutionStatus
    retry_count: int
    queued_at: UtcDatetime | None


class NewExecution(BaseModel):
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


class ExecutionSummary(BaseModel):
    """A run as lists show it: no params or result (each may be 256 KiB), the error cut to 500 characters."""

    id: int
    job_id: int | None
    cron_name: str | None
    handler_name: str
    scheduled_time: UtcDatetime | None
    status: ExecutionStatus
    param_source: ParamSource
    retry_count: int
    max_retry: int
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None
    created_at: UtcDatetime
    parent_execution_id: int | None
    error_message: str | None


class RejectedEvent(BaseModel):
    """A Kafka record the queue dispatcher could not turn into an execution, kept for operators."""

    id: int
    source_topic: str | None
    source_partition: int | None
    source_offset: int | None
    record_key: str
    raw_value: str
    raw_encoding: Literal["utf-8", "base64", "none"]
    reason: str
    created_at: UtcDatetime


class RejectedEventSummary(BaseModel):
    """A rejected record as lists show it: the first 200 characters of its value."""

    id: int
    source_topic: str | None
    source_partition: int | None
    source_offset: int | None
    record_key: str
    raw_encoding: Literal["utf-8", "base64", "none"]
    reason: str
    created_at: UtcDatetime
    raw_preview: str
    raw_truncated: bool


class JobMessage(BaseModel):
    """The Kafka message that asks for a run: {"handler_name", "params", "job_id"}."""

    model_config = ConfigDict(extra="ignore")

    handler_name: str = Field(min_length=1, max_length=200)
    params: dict[str, Any] = Field(default_factory=dict)
    # strict: true, 1.5 or "7" are not ids; bounded by the BIGINT column
    job_id: StrictInt | None = Field(default=None, ge=1, le=2**63 - 1)


class WorkMessage(BaseModel):
    """The SQS message body: which execution to run, and which attempt of it the message is for."""

    model_config = ConfigDict(strict=True)

    execution_id: int = Field(ge=1, le=2**63 - 1)
    attempt: int = Field(ge=0, le=2**31 - 1)
