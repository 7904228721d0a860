"""The rows only the admin side reads: the lists and pages of runs, rejected records and the audit
trail. Not in jobu.models: every function imports that, and each dataclass here is methods CPython
compiles at import (a dispatcher's cold start would pay for rows it never reads; docs/performance.md
"Cold start: rows only the admin side reads"). The store's parts import them when they read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from jobu.models import DbBool, ExecutionStatus, JsonValue, ParamSource, Row, UtcDatetime
from jobu.run_options import Priority


@dataclass
class ExecutionSummary(Row):
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
    priority: Priority = "normal"
    tags: JsonValue | None = None


@dataclass
class RejectedEvent(Row):
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


@dataclass
class RejectedEventSummary(Row):
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
    raw_truncated: DbBool


@dataclass
class OperatorAction(Row):
    """A row of the audit trail: who did what to which target, and what it changed (jobu.operations.audit)."""

    id: int
    created_at: UtcDatetime
    principal: str
    operation: str
    target_kind: str
    target_id: str | None
    request_id: str | None
    before_state: JsonValue | None
    after_state: JsonValue | None
