"""jobu.operations.cron_jobs.preview: the next fire times the cron dispatcher would compute, fewer when
no more exist, and a refusal that names the field at fault."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jobu.cron import Schedule
from jobu.errors import InvalidCronJobError
from jobu.operations.cron_jobs import preview

NOW = datetime(2026, 11, 1, 12, 0, 30, tzinfo=UTC)


def test_the_next_slots_are_the_dispatchers() -> None:
    found = preview("*/20 * * * *", count=4, now=NOW)
    assert found.next_fire_times == [
        datetime(2026, 11, 1, 12, 20, tzinfo=UTC),
        datetime(2026, 11, 1, 12, 40, tzinfo=UTC),
        datetime(2026, 11, 1, 13, 0, tzinfo=UTC),
        datetime(2026, 11, 1, 13, 20, tzinfo=UTC),
    ]
    assert found.next_fire_times[0] == Schedule("*/20 * * * *", "UTC").next_after(NOW)


def test_fewer_times_when_the_calendar_ends() -> None:
    late = datetime(9990, 1, 1, tzinfo=UTC)
    found = preview("0 0 29 2 *", count=20, now=late)  # leap days left before year 10000: 9992, 9996
    assert [moment.year for moment in found.next_fire_times] == [9992, 9996]


@pytest.mark.parametrize("expression", ["61 * * * *", "* * * * * *", "0 0 30 2 *", ""])
def test_a_refused_expression_names_its_field(expression: str) -> None:
    with pytest.raises(InvalidCronJobError) as refused:
        preview(expression, now=NOW)
    assert refused.value.field == "cron_expression"
