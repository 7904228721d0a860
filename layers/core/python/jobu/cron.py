"""Cron expressions and time zones: what jobu accepts, and when a job's slots fall.

A job's expression is read in its time zone (an IANA name, `UTC` by default): its slots are
wall-clock times of that zone, computed by croniter on wall-clock time, then placed on the UTC
time line, where jobu keeps them (`next_run_at`, `scheduled_time`). Each wall-clock slot runs
once, also when the clocks change:
- spring forward: a slot inside the skipped hour (02:30 when 02:00 jumps to 03:00) runs once,
  at the moment the clock jumps (03:00 local); several skipped slots are that one run;
- fall back: a slot inside the repeated hour (02:30 when 03:00 falls back to 02:00) runs once,
  at its first occurrence (02:30 summer time); the repeated hour has no slots of its own.

Expressions have five fields (minute hour day-of-month month day-of-week) or are one of the
macros @yearly, @annually, @monthly, @weekly, @daily, @midnight and @hourly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import cache

from croniter import CroniterBadDateError, CroniterError, croniter

from jobu.errors import InvalidCronJobError

MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day-of-month", 1, 31),
    ("month", 1, 12),
    ("day-of-week", 0, 7),
)
_SECOND = timedelta(seconds=1)
_NO_OFFSET = timedelta(0)


@cache
def zone(name: str) -> tzinfo:
    """The IANA time zone `name`; InvalidCronJobError when there is no such zone."""
    if name == "UTC":
        return UTC
    # imported here: zoneinfo reads sysconfig to find the zone files, about 9 M instructions of a
    # cron dispatcher's cold start, and most jobs run in UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidCronJobError(
            f"unknown time zone {name!r}: use an IANA name such as 'UTC', 'Europe/Berlin' or "
            "'America/New_York'"
        ) from None


def _field_problem(index: int, field: str) -> str | None:
    name, low, high = FIELDS[index]
    if re.search(r"(?i)(?<![a-z])h(?![a-z])", field):
        return f"the {name} field {field!r} is not valid: hashed values (H) are not supported"
    probe = ["*"] * 5
    probe[index] = field
    if croniter.is_valid(" ".join(probe)):
        return None
    for number in (int(n) for n in re.findall(r"(?<![/#])\b\d+\b", field)):
        if not low <= number <= high:
            return f"the {name} field {field!r} is not valid: {number} is outside {low}-{high}"
    if re.search(r"/0+\b", field):
        return f"the {name} field {field!r} is not valid: a step of 0"
    return (
        f"the {name} field {field!r} is not valid: use numbers {low}-{high}, '*', ranges (1-5), "
        "lists (1,15) and steps (*/10)"
    )


def _shape_problem(expression: str, text: str) -> str | None:
    """What is wrong with the expression's form: empty, an unknown macro, not five fields."""
    if not text:
        return "cron expression is empty"
    if text.startswith("@"):
        if text.lower() in MACROS:
            return None
        return (
            f"cron expression {expression!r} is not a schedule jobu keeps: the macros are {', '.join(MACROS)}"
        )
    count = len(text.split())
    if count > 5:
        return (
            f"cron expression {expression!r} has {count} fields: jobu takes the 5-field form "
            "(minute hour day-of-month month day-of-week); schedules finer than one minute are not supported"
        )
    if count < 5:
        return (
            f"cron expression {expression!r} has {count} field{'s' if count > 1 else ''}: "
            "expected 5 (minute hour day-of-month month day-of-week), e.g. '*/5 * * * *'"
        )
    return None


def validate_cron_expression(expression: str) -> None:
    """Raise InvalidCronJobError saying what is wrong with `expression`."""
    text = expression.strip()
    problem = _shape_problem(expression, text)
    if problem:
        raise InvalidCronJobError(problem)
    if text.startswith("@"):
        return
    fields = text.split()
    for index, field in enumerate(fields):
        problem = _field_problem(index, field)
        if problem:
            raise InvalidCronJobError(f"cron expression {expression!r}: {problem}")
    try:
        croniter(text, datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError:
        raise InvalidCronJobError(
            f"cron expression {expression!r} never fires: no calendar date has day-of-month "
            f"{fields[2]!r} in month {fields[3]!r}"
        ) from None
    except CroniterError as error:
        raise InvalidCronJobError(f"cron expression {expression!r} is not valid: {error}") from None


@cache
def _iterator(expression: str) -> croniter:
    """One parsed iterator per expression, moved with set_current: parsing costs five times a step."""
    return croniter(expression, datetime(2000, 1, 1))


def _stepper(expression: str, start: datetime) -> croniter:
    iterator = _iterator(expression)
    iterator.set_current(start, force=True)
    return iterator


def _wall(instant: datetime, where: tzinfo) -> datetime:
    return instant.astimezone(where).replace(tzinfo=None)


def _latest_wall_before(instant: datetime, where: tzinfo) -> datetime:
    """The latest wall-clock time whose slot (_instant) can be at or before `instant`. In the
    repeated hour after the clocks go back, the wall-clock times still to come in it already had
    their slots (a repeated time runs at its first occurrence): they count as before `instant`."""
    local = instant.astimezone(where)
    wall = local.replace(tzinfo=None)
    if local.fold:
        # an aware time always has an offset; `or` only satisfies the type
        wall += (local.replace(fold=0).utcoffset() or _NO_OFFSET) - (local.utcoffset() or _NO_OFFSET)
    return wall


def _instant(wall: datetime, where: tzinfo) -> datetime:
    """When wall-clock time `wall` of `where` happens: its first occurrence, or, if the clocks
    skip it, the moment they jump (the first instant whose wall-clock time is past it)."""
    first = wall.replace(tzinfo=where, fold=0).astimezone(UTC)
    if _wall(first, where) == wall:
        return first
    # skipped: fold=1 reads it with the later offset (an instant before the jump), fold=0 with the
    # earlier one (after it); the jump lies between, found to the second
    low, high = wall.replace(tzinfo=where, fold=1).astimezone(UTC), first
    while high - low > _SECOND:
        middle = low + (high - low) / 2
        if _wall(middle, where) >= wall:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


@dataclass(frozen=True)
class Schedule:
    """A cron expression read in a time zone; every instant it takes and gives is aware."""

    expression: str
    timezone: str = "UTC"

    @property
    def _zone(self) -> tzinfo:
        return zone(self.timezone)

    def next_after(self, moment: datetime) -> datetime:
        """The first slot strictly after `moment`."""
        return next(self.slots_after(moment))

    def slots_after(self, moment: datetime) -> Iterator[datetime]:
        """The slots strictly after `moment`, in order, each once."""
        where = self._zone
        wall, previous = _wall(moment, where), moment
        while True:
            # the shared iterator is re-placed at each step: another Schedule may have moved it
            wall = _stepper(self.expression, wall).get_next(datetime)
            instant = _instant(wall, where)
            if instant > previous:
                previous = instant
                yield instant

    def latest_at_or_before(self, moment: datetime) -> datetime:
        """The most recent slot at or before `moment`."""
        return next(self.slots_at_or_before(moment))

    def slots_at_or_before(self, moment: datetime) -> Iterator[datetime]:
        """The slots at or before `moment`, most recent first, each once."""
        where = self._zone
        # croniter's get_prev is strict and works in whole seconds: start one second past `moment`
        # floored to the second, so a slot exactly at `moment` counts and one a fraction later does not
        wall, previous = _latest_wall_before(moment, where).replace(microsecond=0) + _SECOND, None
        while True:
            wall = _stepper(self.expression, wall).get_prev(datetime)
            instant = _instant(wall, where)
            if instant <= moment and instant != previous:
                previous = instant
                yield instant

    def latest_slots(self, moment: datetime, *, since: datetime, limit: int) -> list[datetime]:
        """The most recent `limit` slots in [since, moment], oldest first."""
        found: list[datetime] = []
        for instant in self.slots_at_or_before(moment):
            if instant < since or len(found) == limit:
                break
            found.append(instant)
        return found[::-1]

    def slots_between(self, start: datetime, end: datetime, *, limit: int) -> list[datetime]:
        """The slots in [start, end], oldest first, at most `limit` of them (the oldest)."""
        found: list[datetime] = []
        for instant in self.slots_after(start - _SECOND):
            if instant > end or len(found) == limit:
                break
            found.append(instant)
        return found
