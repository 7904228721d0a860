"""What the cron dispatcher takes as a tick, and every event it refuses instead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from jobu.schedule_event import MAX_TICK_AGE, MAX_TICK_LEAD, ScheduleEventRefusedError, tick_time
from tests.conftest import load_event

NOW = datetime(2026, 11, 22, 10, 3, 12, tzinfo=UTC)


def test_tick_time_from_each_event_shape() -> None:
    assert tick_time(load_event("cron_dispatcher_scheduler.json"), now=NOW) == datetime(
        2026, 11, 22, 10, tzinfo=UTC
    )
    assert tick_time(load_event("cron_dispatcher_rule.json"), now=NOW) == datetime(
        2026, 11, 22, 10, tzinfo=UTC
    )
    assert tick_time(load_event("cron_dispatcher_manual.json"), now=NOW) == NOW


def test_a_late_tick_inside_the_tolerance_is_taken() -> None:
    late = NOW - MAX_TICK_AGE + timedelta(seconds=1)
    assert tick_time({"scheduled_time": late.isoformat()}, now=NOW) == late
    early = NOW + MAX_TICK_LEAD
    assert tick_time({"scheduled_time": early.isoformat()}, now=NOW) == early


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"scheduled_time": "2999-01-01T00:00:00Z"}, "ahead of the clock"),
        ({"scheduled_time": (NOW + MAX_TICK_LEAD + timedelta(seconds=1)).isoformat()}, "ahead of the clock"),
        (
            {"scheduled_time": (NOW - MAX_TICK_AGE - timedelta(seconds=1)).isoformat()},
            "old; ticks older than",
        ),
        ({"scheduled_time": "0001-01-01T00:00:00Z"}, "old; ticks older than"),
        ({"scheduled_time": "0001-01-01T00:00:00+05:00"}, "out of range"),
        ({"scheduled_time": "9999-12-31T23:59:59-05:00"}, "out of range"),
        ({"scheduled_time": "9999-12-31T23:59:59Z"}, "ahead of the clock"),
        ({"scheduled_time": "<aws.scheduler.scheduled-time>"}, "'scheduled_time' is not an ISO 8601 time"),
        ({"scheduled_time": 1732269600}, "'scheduled_time' must be an ISO 8601 time string"),
        ({"scheduled_time": None}, "'scheduled_time' must be an ISO 8601 time string"),
        (
            {"source": "aws.events", "detail-type": "Scheduled Event"},
            "'time' must be an ISO 8601 time string",
        ),
        (
            {"source": "aws.s3", "detail-type": "Object Created", "time": NOW.isoformat(), "detail": {}},
            "not a schedule event: 'Object Created'",
        ),
        (
            {"source": "aws.ec2", "detail-type": "Scheduled Event", "time": NOW.isoformat()},
            "not a schedule event: 'Scheduled Event'",
        ),
        ({"time": NOW.isoformat()}, "not a schedule event"),
        ([1, 2], "not a schedule event: a list"),
        ("tick", "not a schedule event: a str"),
    ],
)
def test_events_that_can_never_succeed_are_refused(event: Any, reason: str) -> None:
    with pytest.raises(ScheduleEventRefusedError, match=reason):
        tick_time(event, now=NOW)
