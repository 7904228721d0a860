"""Slots in a job's time zone: the DST rules of docs/scheduling.md, and properties against croniter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter
from hypothesis import example, given, settings
from hypothesis import strategies as st

from jobu.cron import Schedule, zone
from jobu.errors import InvalidCronJobError

BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(moment: datetime, where: ZoneInfo) -> str:
    return moment.astimezone(where).isoformat()


def day(schedule: Schedule, start: str, hours: int = 30) -> list[datetime]:
    return schedule.slots_between(utc(start), utc(start) + timedelta(hours=hours), limit=100)


def test_spring_forward_a_skipped_slot_runs_once_when_the_clock_jumps() -> None:
    # Berlin, 2026-03-29: 02:00 CET becomes 03:00 CEST; 02:30 does not exist that day
    schedule = Schedule("30 2 * * *", "Europe/Berlin")
    assert [local(s, BERLIN) for s in day(schedule, "2026-03-28T12:00:00", 48)] == [
        "2026-03-29T03:00:00+02:00",  # the jump itself
        "2026-03-30T02:30:00+02:00",
    ]
    # New York, 2026-03-08: 02:00 EST becomes 03:00 EDT
    ny = Schedule("30 2 * * *", "America/New_York")
    assert [local(s, NEW_YORK) for s in day(ny, "2026-03-07T12:00:00", 48)] == [
        "2026-03-08T03:00:00-04:00",
        "2026-03-09T02:30:00-04:00",
    ]


def test_fall_back_a_repeated_slot_runs_once_at_its_first_occurrence() -> None:
    # Berlin, 2026-10-25: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice that night
    schedule = Schedule("30 2 * * *", "Europe/Berlin")
    assert [local(s, BERLIN) for s in day(schedule, "2026-10-24T12:00:00", 48)] == [
        "2026-10-25T02:30:00+02:00",
        "2026-10-26T02:30:00+01:00",
    ]
    # New York, 2026-11-01: 02:00 EDT falls back to 01:00 EST; 01:30 happens twice
    ny = Schedule("30 1 * * *", "America/New_York")
    assert [local(s, NEW_YORK) for s in day(ny, "2026-10-31T12:00:00", 48)] == [
        "2026-11-01T01:30:00-04:00",
        "2026-11-02T01:30:00-05:00",
    ]


def test_an_hourly_job_has_one_slot_per_wall_clock_hour_across_both_changes() -> None:
    hourly = Schedule("0 * * * *", "Europe/Berlin")
    spring = hourly.slots_between(utc("2026-03-28T23:00:00"), utc("2026-03-29T21:59:00"), limit=100)
    assert len(spring) == 23  # a 23-hour day: 02:00 does not exist (it is the 03:00 run)
    autumn = hourly.slots_between(utc("2026-10-24T22:00:00"), utc("2026-10-25T22:59:00"), limit=100)
    assert len(autumn) == 24  # a 25-hour day, 24 wall-clock hours: the repeated 02:00 runs once
    assert len({s for s in autumn}) == len(autumn)


def test_skipped_slots_inside_the_jump_are_one_run() -> None:
    half_hourly = Schedule("*/30 * * * *", "Europe/Berlin")
    slots = half_hourly.slots_between(utc("2026-03-29T00:00:00"), utc("2026-03-29T02:00:00"), limit=10)
    assert [local(s, BERLIN) for s in slots] == [
        "2026-03-29T01:00:00+01:00",
        "2026-03-29T01:30:00+01:00",
        "2026-03-29T03:00:00+02:00",  # 02:00, 02:30 and 03:00 wall-clock: one run
        "2026-03-29T03:30:00+02:00",
        "2026-03-29T04:00:00+02:00",
    ]


def test_the_latest_slot_during_the_repeated_hour_is_its_first_occurrence() -> None:
    schedule = Schedule("30 2 * * *", "Europe/Berlin")
    second_pass = utc("2026-10-25T01:45:00")  # 02:45 CET, the second 02:xx of the night
    assert local(schedule.latest_at_or_before(second_pass), BERLIN) == "2026-10-25T02:30:00+02:00"


def test_unknown_zones_are_refused_with_examples() -> None:
    with pytest.raises(InvalidCronJobError, match="unknown time zone 'Mars/Olympus': use an IANA name"):
        zone("Mars/Olympus")


# --- properties -----------------------------------------------------------------------------------

EXPRESSIONS = st.one_of(
    st.sampled_from(
        [
            "* * * * *",
            "*/5 * * * *",
            "0 * * * *",
            "30 2 * * *",
            "0 0 1 * *",
            "15 9 * * 1-5",
            "0 */6 * * *",
            "45 1,2,3 * * *",
            "0 0 * * 0",
            "@daily",
            "@hourly",
        ]
    ),
    st.tuples(st.integers(0, 59), st.integers(0, 23)).map(lambda mh: f"{mh[0]} {mh[1]} * * *"),
)
DST_ZONES = st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Sydney", "America/Santiago"])
FIXED_ZONES = st.sampled_from(["UTC", "Asia/Kolkata", "Etc/GMT+5", "Asia/Tokyo"])
INSTANTS = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(expression=EXPRESSIONS, timezone=FIXED_ZONES, moment=INSTANTS)
def test_without_dst_the_slots_are_croniters(expression: str, timezone: str, moment: datetime) -> None:
    where = ZoneInfo(timezone)
    expected = croniter(expression, moment.astimezone(where)).get_next(datetime).astimezone(UTC)
    assert Schedule(expression, timezone).next_after(moment) == expected


@settings(max_examples=300, deadline=None)
@given(expression=EXPRESSIONS, timezone=DST_ZONES, moment=INSTANTS)
# in New York's repeated hour (06:00-07:00 UTC) the latest slot is 01:59 EDT, not 01:00
@example(
    expression="* * * * *", timezone="America/New_York", moment=datetime(2025, 11, 2, 6, 0, 30, tzinfo=UTC)
)
def test_with_dst_the_slots_keep_their_promises(expression: str, timezone: str, moment: datetime) -> None:
    schedule, where = Schedule(expression, timezone), ZoneInfo(timezone)
    following = schedule.next_after(moment)
    latest = schedule.latest_at_or_before(moment)
    # strictly after, at or before, and nothing between them
    assert latest <= moment < following
    assert schedule.next_after(latest) == following
    assert schedule.latest_at_or_before(following - timedelta(microseconds=1)) == latest
    # a slot is a wall-clock time the expression names, or the jump over such a time
    wall = following.astimezone(where).replace(tzinfo=None)
    jumped = (
        following.astimezone(where).utcoffset()
        != (following - timedelta(seconds=1)).astimezone(where).utcoffset()
    )
    assert croniter.match(expression, wall) or jumped
    # each wall-clock slot once: the next slot's wall clock is later (the repeated hour has none)
    after = schedule.next_after(following).astimezone(where).replace(tzinfo=None)
    assert after > wall
