"""Cron expressions: what jobu accepts, and when a job's slots fall (all in UTC).

Misfire policy (coalesce): a tick that finds a job overdue creates ONE run, for the most recent
slot at or before the tick, however many slots were missed while the dispatcher was not
invoked; the job's next_run_at then moves to the first slot after that.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from croniter import CroniterError, croniter

from jobu.errors import InvalidCronJobError


def validate_cron_expression(expression: str) -> None:
    """Raise InvalidCronJobError saying why `expression` is refused."""
    fields = expression.split()
    if not fields:
        raise InvalidCronJobError("cron expression is empty")
    if len(fields) > 5:
        raise InvalidCronJobError(
            f"cron expression {expression!r} has {len(fields)} fields: jobu takes the 5-field form "
            "(minute hour day-of-month month day-of-week); schedules finer than one minute are not supported"
        )
    if not croniter.is_valid(expression):
        raise InvalidCronJobError(
            f"cron expression {expression!r} is not valid: expected 5 fields "
            "(minute hour day-of-month month day-of-week), e.g. '*/5 * * * *'"
        )
    try:
        croniter(expression, datetime(2000, 1, 1, tzinfo=UTC)).get_next(datetime)
    except CroniterError:
        raise InvalidCronJobError(f"cron expression {expression!r} never fires (e.g. 30 February)") from None


def next_slot_after(expression: str, moment: datetime) -> datetime:
    """The first slot strictly after `moment`."""
    result: datetime = croniter(expression, moment.astimezone(UTC)).get_next(datetime)
    return result.astimezone(UTC)


def latest_slot_at_or_before(expression: str, moment: datetime) -> datetime:
    """The most recent slot at or before `moment` (slots fall on whole minutes)."""
    # croniter's get_prev is strict and works in whole seconds: start one second past `moment`
    # floored to the second, so a slot exactly at `moment` counts and one a fraction later does not.
    start = moment.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1)
    result: datetime = croniter(expression, start).get_prev(datetime)
    return result.astimezone(UTC)
