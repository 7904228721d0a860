"""The tick time of a cron dispatcher invocation.

Accepted shapes:
- EventBridge Scheduler, with the template's Input:
  {"scheduled_time": "<aws.scheduler.scheduled-time>", ...}
- an EventBridge rule's "Scheduled Event":
  {"detail-type": "Scheduled Event", "time": "2026-11-22T10:00:00Z", ...}
- {} (a manual invoke): the clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from jobu.clock import utcnow
from jobu.errors import JobuError

TIME_KEYS = ("scheduled_time", "time")


class InvalidScheduleEventError(JobuError):
    """The event names a tick time that is not an ISO 8601 timestamp."""


def tick_time(event: Mapping[str, Any], clock: Callable[[], datetime] | None = None) -> datetime:
    for key in TIME_KEYS:
        value = event.get(key)
        if value is None:
            continue
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            raise InvalidScheduleEventError(
                f"event field {key!r} is not an ISO 8601 time: {value!r}"
            ) from None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return (clock or utcnow)()
