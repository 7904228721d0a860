"""The flow control fields a run request may carry beside handler_name, params and job_id, checked
once here for every way in (a Kafka record today; the enqueue API and cron jobs use the same):

- idempotency_key, 1-200 characters: within idempotency_ttl_seconds (1 s to a year, default a day) of
  the first run with the same handler and key, no new run is made;
- priority: "high", "normal" (default) or "low";
- tags: up to 10 strings of 1-64 characters (no commas); runs can be listed by tag;
- run_at (an ISO 8601 time with its offset) or delay_seconds (0 s to a year): not runnable before then;
- expires_at (an ISO 8601 time) or ttl_seconds (1 s to a year): a run not started by then ends EXPIRED;
- concurrency_key, 1-200 characters: the key the handler's per-key limits apply to;
- debounce, {"key": 1-200 characters, "seconds": 1 s to a day, "max_wait_seconds": seconds to a
  year, optional}: a request with the same handler and key while its run still waits replaces that
  run's params and moves its start to `seconds` later, never past `max_wait_seconds` after the
  window's first request (jobu.store.debounce).

Every check raises FieldError naming the field, so a bad value is a rejected record that says which.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from jobu.documents import FieldError, strict_int, strict_str

Priority = Literal["high", "normal", "low"]
PRIORITIES: tuple[Priority, ...] = ("high", "normal", "low")

MAX_KEY_LENGTH = 200
MAX_TAGS = 10
MAX_TAG_LENGTH = 64
MAX_HORIZON_SECONDS = 365 * 24 * 3600  # delays, TTLs and keys: up to a year
DEFAULT_IDEMPOTENCY_TTL_SECONDS = 24 * 3600
# printable text: keys and tags end up in logs, terminals and URLs
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
# a tag is also a query value (?tag=a&tag=b), which API Gateway's HTTP API joins with commas
TAG_PATTERN = r"^[^\x00-\x1f\x7f,]+$"


def _time(document: Mapping[str, Any], name: str) -> datetime | None:
    """An ISO 8601 time with its UTC offset, as an aware UTC datetime."""
    value = document.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise FieldError(name, "Input should be an ISO 8601 date and time string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise FieldError(name, "Input should be an ISO 8601 date and time string") from None
    if parsed.tzinfo is None:
        raise FieldError(name, "Input should have a time zone offset (e.g. Z or +00:00)")
    return parsed.astimezone(UTC)


def _tags(document: Mapping[str, Any]) -> tuple[str, ...]:
    value = document.get("tags")
    if value is None:
        return ()
    if not isinstance(value, list):
        raise FieldError("tags", "Input should be a valid list of strings")
    if len(value) > MAX_TAGS:
        raise FieldError("tags", f"List should have at most {MAX_TAGS} items")
    tags: list[str] = []
    for index, tag in enumerate(value):
        checked = strict_str(
            {f"tags[{index}]": tag}, f"tags[{index}]", min_length=1, max_length=MAX_TAG_LENGTH
        )
        assert checked is not None
        if not re.fullmatch(TAG_PATTERN, checked):
            raise FieldError(f"tags[{index}]", "String should hold no commas or control characters")
        if checked not in tags:
            tags.append(checked)
    return tuple(tags)


def _key(document: Mapping[str, Any], name: str) -> str | None:
    return strict_str(
        document, name, min_length=1, max_length=MAX_KEY_LENGTH, pattern=PRINTABLE, default=None
    )


def idempotency(document: Mapping[str, Any]) -> tuple[str | None, int]:
    """A request's idempotency_key (None: none) and idempotency_ttl_seconds (the default when not
    given): a run's, and a batch's (jobu.operations.batches)."""
    key = _key(document, "idempotency_key")
    key_ttl = strict_int(document, "idempotency_ttl_seconds", ge=1, le=MAX_HORIZON_SECONDS, default=None)
    if key_ttl is not None and key is None:
        raise FieldError("idempotency_ttl_seconds", "only with idempotency_key")
    return key, DEFAULT_IDEMPOTENCY_TTL_SECONDS if key_ttl is None else key_ttl


def _priority(document: Mapping[str, Any]) -> Priority:
    value = document.get("priority")
    if value is None:
        return "normal"
    for priority in PRIORITIES:
        if value == priority:
            return priority
    raise FieldError("priority", "Input should be 'high', 'normal' or 'low'")


MAX_DEBOUNCE_SECONDS = 24 * 3600
DEBOUNCE_FIELDS = frozenset({"key", "seconds", "max_wait_seconds"})


@dataclass(frozen=True)
class Debounce:
    key: str
    seconds: int
    max_wait_seconds: int | None = None


def _debounce(document: Mapping[str, Any]) -> Debounce | None:
    value = document.get("debounce")
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise FieldError("debounce", 'Input should be an object {"key", "seconds", "max_wait_seconds"}')
    unknown = sorted(str(name) for name in value if name not in DEBOUNCE_FIELDS)
    if unknown:
        raise FieldError(f"debounce.{unknown[0]}", "Extra inputs are not permitted")
    # named as the request names them, so the error says which
    fields = {f"debounce.{name}": item for name, item in value.items()}
    key = strict_str(fields, "debounce.key", min_length=1, max_length=MAX_KEY_LENGTH, pattern=PRINTABLE)
    seconds = strict_int(fields, "debounce.seconds", ge=1, le=MAX_DEBOUNCE_SECONDS)
    assert key is not None
    assert seconds is not None
    max_wait = strict_int(fields, "debounce.max_wait_seconds", ge=1, le=MAX_HORIZON_SECONDS, default=None)
    if max_wait is not None and max_wait < seconds:
        raise FieldError("debounce.max_wait_seconds", "should be at least debounce.seconds")
    return Debounce(key=key, seconds=seconds, max_wait_seconds=max_wait)


def _one_of(document: Mapping[str, Any], first: str, second: str) -> None:
    if document.get(first) is not None and document.get(second) is not None:
        raise FieldError(second, f"give {first} or {second}, not both")


@dataclass(frozen=True)
class RunOptions:
    """A run request's flow control fields, checked; times are resolved against the clock by `schedule`."""

    idempotency_key: str | None = None
    idempotency_ttl_seconds: int = DEFAULT_IDEMPOTENCY_TTL_SECONDS
    priority: Priority = "normal"
    tags: tuple[str, ...] = ()
    run_at: datetime | None = None
    delay_seconds: int | None = None
    expires_at: datetime | None = None
    ttl_seconds: int | None = None
    concurrency_key: str | None = None
    debounce: Debounce | None = None

    @classmethod
    def parse(cls, document: Mapping[str, Any]) -> RunOptions:
        """The fields of a JSON object (absent or null: the defaults); FieldError names the first
        field that is wrong."""
        if _OPTION_FIELDS.isdisjoint(document):  # most requests: a Kafka batch's every record
            return _DEFAULT_OPTIONS
        key, key_ttl = idempotency(document)
        priority = _priority(document)
        _one_of(document, "run_at", "delay_seconds")
        _one_of(document, "expires_at", "ttl_seconds")
        debounce = _debounce(document)
        if debounce is not None:
            # the debounce decides the start, and a request that replaces another is not a duplicate
            for other in ("run_at", "delay_seconds", "idempotency_key"):
                if document.get(other) is not None:
                    raise FieldError("debounce", f"give debounce or {other}, not both")
        return cls(
            idempotency_key=key,
            idempotency_ttl_seconds=key_ttl,
            priority=priority,
            tags=_tags(document),
            run_at=_time(document, "run_at"),
            delay_seconds=strict_int(document, "delay_seconds", ge=0, le=MAX_HORIZON_SECONDS, default=None),
            expires_at=_time(document, "expires_at"),
            ttl_seconds=strict_int(document, "ttl_seconds", ge=1, le=MAX_HORIZON_SECONDS, default=None),
            concurrency_key=_key(document, "concurrency_key"),
            debounce=debounce,
        )

    def schedule(self, now: datetime) -> Schedule:
        """When the run may start and when it expires, from `now`; FieldError for a time out of bounds."""
        horizon = now + timedelta(seconds=MAX_HORIZON_SECONDS)
        available_at = now
        if self.debounce is not None:  # a window's first request; a later one moves it (jobu.store.debounce)
            available_at = now + timedelta(seconds=self.debounce.seconds)
        elif self.delay_seconds is not None:
            available_at = now + timedelta(seconds=self.delay_seconds)
        elif self.run_at is not None:
            if self.run_at > horizon:
                raise FieldError("run_at", "should be at most a year from now")
            available_at = max(self.run_at, now)  # a time passed already: it may start at once
        expires_at = self.expires_at
        if self.ttl_seconds is not None:
            expires_at = now + timedelta(seconds=self.ttl_seconds)
        if expires_at is not None:
            if expires_at > horizon + timedelta(seconds=MAX_HORIZON_SECONDS):
                raise FieldError("expires_at", "should be at most two years from now")
            if available_at > now and expires_at <= available_at:
                field = "ttl_seconds" if self.ttl_seconds is not None else "expires_at"
                raise FieldError(
                    field, "the run would expire before it may start (run_at / delay_seconds / debounce)"
                )
        key_expires_at = None
        if self.idempotency_key is not None:
            key_expires_at = now + timedelta(seconds=self.idempotency_ttl_seconds)
        return Schedule(
            available_at=available_at, expires_at=expires_at, idempotency_expires_at=key_expires_at
        )

    def run_fields(self, now: datetime) -> dict[str, Any]:
        """The fields of the run these options ask for at `now` (jobu.models.NewExecution's flow
        control fields), for every way in; FieldError as `schedule`."""
        schedule = self.schedule(now)
        return {
            "available_at": schedule.available_at,
            "expires_at": schedule.expires_at,
            "idempotency_key": self.idempotency_key,
            "idempotency_expires_at": schedule.idempotency_expires_at,
            "priority": self.priority,
            "tags": list(self.tags) or None,
            "concurrency_key": self.concurrency_key,
            "debounce": self.debounce,
        }


# every field RunOptions.parse reads: a document with none of them asks for the defaults
_OPTION_FIELDS = frozenset(field.name for field in fields(RunOptions))
_DEFAULT_OPTIONS = RunOptions()


@dataclass(frozen=True)
class Schedule:
    available_at: datetime
    expires_at: datetime | None
    idempotency_expires_at: datetime | None
