"""What a cron expression would do before it is saved: its next fire times, or why it is refused.

The dashboard's form asks for this as the expression is typed, so the times it shows are the ones
the cron dispatcher computes (jobu.cron), not a second implementation in the browser.
"""

from __future__ import annotations

from datetime import datetime

from croniter import CroniterError
from pydantic import BaseModel, Field

from jobu.cron import next_slot_after, validate_cron_expression
from jobu.errors import InvalidCronJobError

MAX_PREVIEW = 20
DEFAULT_PREVIEW = 5


class SchedulePreview(BaseModel):
    cron_expression: str
    timezone: str = Field(default="UTC", description="the zone the expression is read in")
    next_fire_times: list[datetime] = Field(
        description="the next slots after now, earliest first (UTC); fewer than asked when no more exist"
    )


def check_expression(cron_expression: str) -> None:
    """validate_cron_expression, its refusal naming the field at fault (cron_expression)."""
    try:
        validate_cron_expression(cron_expression)
    except InvalidCronJobError as error:
        raise InvalidCronJobError(str(error), field="cron_expression") from None


def preview(cron_expression: str, *, count: int = DEFAULT_PREVIEW, now: datetime) -> SchedulePreview:
    """The `count` slots after `now`; InvalidCronJobError (saying why) for an expression jobu refuses."""
    check_expression(cron_expression)
    times: list[datetime] = []
    moment = now
    for _ in range(count):
        try:
            moment = next_slot_after(cron_expression, moment)
        except (CroniterError, ValueError, OverflowError):
            break  # no slot within croniter's reach or before year 9999: the ones found are all there are
        times.append(moment)
    return SchedulePreview(cron_expression=cron_expression, next_fire_times=times)
