"""The tick time of a cron dispatcher invocation, from an event that is checked first.

Accepted shapes:
- EventBridge Scheduler, with the template's Input:
  {"scheduled_time": "<aws.scheduler.scheduled-time>", ...}
- an EventBridge rule's scheduled event:
  {"source": "aws.events", "detail-type": "Scheduled Event", "time": "2026-11-22T10:00:00Z", ...}
- {} (a manual invoke): the clock.

Anything else is refused, including other EventBridge events that carry a `time` (an S3 or EC2
event routed here by mistake). A tick time must lie within [now - MAX_TICK_AGE, now +
MAX_TICK_LEAD]: the scheduler delivers late (retries, Lambda's asynchronous queue keeps an event
up to 6 hours) but never from the future beyond clock skew. A refused event can never succeed, so
it is answered (logged, counted) rather than raised: raising would only make AWS retry it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from jobu.errors import JobuError

MAX_TICK_AGE = timedelta(hours=6)
MAX_TICK_LEAD = timedelta(minutes=5)


class ScheduleEventRefusedError(JobuError):
    """The event is not a schedule event, or names a tick time jobu will not act on."""


def _time_field(event: Mapping[str, Any]) -> tuple[str, Any]:
    if "scheduled_time" in event:
        return "scheduled_time", event["scheduled_time"]
    if event.get("source") == "aws.events" and event.get("detail-type") == "Scheduled Event":
        return "time", event.get("time")
    kind = event.get("detail-type") or "an event without scheduled_time"
    raise ScheduleEventRefusedError(f"not a schedule event: {str(kind)[:100]!r}")


def _parse(key: str, value: Any) -> datetime:
    if not isinstance(value, str):
        raise ScheduleEventRefusedError(
            f"event field {key!r} must be an ISO 8601 time string, not {value!r:.100}"
        )
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ScheduleEventRefusedError(
            f"event field {key!r} is not an ISO 8601 time: {value!r:.100}"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def tick_time(event: Any, *, now: datetime) -> datetime:
    """The time the tick is for; raises ScheduleEventRefusedError saying why it will not be acted on."""
    if not isinstance(event, Mapping):
        raise ScheduleEventRefusedError(f"not a schedule event: a {type(event).__name__}, not an object")
    if not event:
        return now
    key, value = _time_field(event)
    try:
        tick = _parse(key, value)
        late, early = now - tick, tick - now
    except OverflowError:  # years 1 and 9999 overflow with the UTC conversion or the subtraction
        raise ScheduleEventRefusedError(f"event field {key!r} is out of range: {value!r:.100}") from None
    if early > MAX_TICK_LEAD:
        raise ScheduleEventRefusedError(
            f"tick time {tick:%Y-%m-%dT%H:%M:%SZ} is {early} ahead of the clock (tolerance {MAX_TICK_LEAD})"
        )
    if late > MAX_TICK_AGE:
        raise ScheduleEventRefusedError(
            f"tick time {tick:%Y-%m-%dT%H:%M:%SZ} is {late} old; "
            f"ticks older than {MAX_TICK_AGE} are not acted on"
        )
    return tick
