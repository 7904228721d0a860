"""What operators send to define a cron job, validated field by field at the edge (the admin API, the
CLI, the dashboard): pydantic models, with the messages pydantic gives for each field.

Only the admin side imports this module (and pydantic with it): the dispatchers and workers read
and write the plain rows of jobu.models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from jobu.documents import text_problem
from jobu.models import (
    MAX_ALERT_SECONDS,
    MAX_CATCHUP_LIMIT,
    MAX_CRON_EXPRESSION_LENGTH,
    MAX_DESCRIPTION_LENGTH,
    MAX_HANDLER_NAME_LENGTH,
    MAX_JOB_TIMEOUT_SECONDS,
    MAX_NAME_LENGTH,
    MAX_RETRY_LIMIT,
    CatchupPolicy,
    OverlapPolicy,
    overlap_from,
    utc,
)
from jobu.run_options import (
    MAX_HORIZON_SECONDS,
    MAX_KEY_LENGTH,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    PRINTABLE,
    TAG_PATTERN,
    Priority,
)


def _storable(value: str) -> str:
    problem = text_problem(value, "text")
    if problem:
        raise ValueError(problem)
    return value


# Text an operator sends that every backend can store: no NUL character, no lone surrogate.
StorableText = Annotated[str, AfterValidator(_storable)]
# What the runs a job makes carry, under the same rules as a Kafka record's fields (jobu.run_options).
RunTags = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=MAX_TAG_LENGTH, pattern=TAG_PATTERN)]],
    Field(max_length=MAX_TAGS),
]
RunTtl = Annotated[int, Field(ge=1, le=MAX_HORIZON_SECONDS, description="a run not started by then expires")]
ConcurrencyKey = Annotated[StorableText, Field(min_length=1, max_length=MAX_KEY_LENGTH, pattern=PRINTABLE)]
# A time read from any driver, as an aware UTC datetime (for the operations' own pydantic models).
UtcTime = Annotated[datetime, BeforeValidator(utc)]


class CronJobSpec(BaseModel):
    """What a user gives to create a cron job; validated by jobu.operations.cron_jobs.create."""

    model_config = ConfigDict(extra="forbid")

    name: StorableText = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    cron_expression: StorableText = Field(min_length=1, max_length=MAX_CRON_EXPRESSION_LENGTH)
    handler_name: StorableText = Field(min_length=1, max_length=MAX_HANDLER_NAME_LENGTH)
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
    timeout_seconds: int = Field(default=300, ge=1, le=MAX_JOB_TIMEOUT_SECONDS)
    # what the job's runs carry (jobu.run_options): a run not started ttl_seconds after it is made expires
    priority: Priority = "normal"
    ttl_seconds: RunTtl | None = None
    tags: RunTags | None = None
    concurrency_key: ConcurrencyKey | None = None
    # notify MISSED / LATE (docs/notifications.md) when a slot's run has not started / finished this
    # many seconds after the slot; None: no alert
    alert_if_not_started_within: int | None = Field(default=None, ge=1, le=MAX_ALERT_SECONDS)
    alert_if_not_finished_within: int | None = Field(default=None, ge=1, le=MAX_ALERT_SECONDS)

    @model_validator(mode="before")
    @classmethod
    def _one_overlap_setting(cls, data: Any) -> Any:
        return overlap_from(data) if isinstance(data, dict) else data

    @field_validator("catchup_window_seconds")
    @classmethod
    def _zero_is_no_window(cls, seconds: int | None) -> int | None:
        # stored as NULL: a window of 0 s would drop every missed slot, which `skip` says better
        return seconds or None
