"""What a cron expression would do before it is saved: its next fire times, or why it is refused.

The dashboard's form asks for this as the expression is typed, so the times it shows are the ones
the cron dispatcher computes (jobu.cron, in the job's time zone), not a second implementation in
the browser.
"""

from __future__ import annotations

from datetime import datetime

from croniter import CroniterError
from pydantic import BaseModel, Field

from jobu.cron import Schedule, validate_cron_expression, zone
from jobu.errors import InvalidCronJobError

MAX_PREVIEW = 20
DEFAULT_PREVIEW = 5


class SchedulePreview(BaseModel):
    cron_expression: str
    timezone: str = Field(default="UTC", description="the IANA zone the expression is read in")
    next_fire_times: list[datetime] = Field(
        description="the next slots after now, earliest first (UTC); fewer than asked when no more exist"
    )
    next_fire_times_local: list[str] = Field(description="the same slots as wall-clock times of the zone")


def check_expression(cron_expression: str) -> None:
    """validate_cron_expression, its refusal naming the field at fault (cron_expression)."""
    try:
        validate_cron_expression(cron_expression)
    except InvalidCronJobError as error:
        raise InvalidCronJobError(str(error), field="cron_expression") from None


def check_timezone(timezone: str) -> None:
    """An IANA zone jobu knows, or an InvalidCronJobError naming the field (timezone)."""
    try:
        zone(timezone)
    except InvalidCronJobError as error:
        raise InvalidCronJobError(str(error), field="timezone") from None


def preview(
    cron_expression: str, *, timezone: str = "UTC", count: int = DEFAULT_PREVIEW, now: datetime
) -> SchedulePreview:
    """The `count` slots after `now`; InvalidCronJobError (saying why) for an expression jobu refuses."""
    check_expression(cron_expression)
    check_timezone(timezone)
    times: list[datetime] = []
    try:
        for slot in Schedule(cron_expression, timezone).slots_after(now):
            times.append(slot)
            if len(times) == count:
                break
    except (CroniterError, ValueError, OverflowError):
        pass  # no slot within croniter's reach or before year 9999: the ones found are all there are
    where = zone(timezone)
    return SchedulePreview(
        cron_expression=cron_expression,
        timezone=timezone,
        next_fire_times=times,
        next_fire_times_local=[time.astimezone(where).isoformat() for time in times],
    )
