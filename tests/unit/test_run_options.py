"""The flow control fields of a run request: what each resolves to against the clock, and what is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jobu import run_options
from jobu.documents import FieldError
from jobu.models import JobMessage
from jobu.run_options import Debounce, RunOptions

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_absent_fields_are_the_defaults() -> None:
    options = JobMessage.parse({"handler_name": "sample"}).options
    assert options == RunOptions()
    schedule = options.schedule(NOW)
    assert (schedule.available_at, schedule.expires_at, schedule.idempotency_expires_at) == (NOW, None, None)
    assert (options.priority, options.tags, options.concurrency_key) == ("normal", (), None)


def test_times_resolve_against_the_clock() -> None:
    delayed = RunOptions.parse({"delay_seconds": 90, "ttl_seconds": 600, "idempotency_key": "k"}).schedule(
        NOW
    )
    assert delayed.available_at == NOW + timedelta(seconds=90)
    assert delayed.expires_at == NOW + timedelta(seconds=600)
    assert delayed.idempotency_expires_at == NOW + timedelta(days=1)

    at = RunOptions.parse({"run_at": "2026-12-07T13:30:00+01:00", "expires_at": "2026-12-07T13:00:00Z"})
    scheduled = at.schedule(NOW)
    assert (scheduled.available_at, scheduled.expires_at) == (
        NOW + timedelta(minutes=30),
        NOW + timedelta(hours=1),
    )
    # a run_at passed already: runnable at once
    assert RunOptions.parse({"run_at": "2026-12-01T00:00:00Z"}).schedule(NOW).available_at == NOW


def test_a_debounce_starts_its_window_seconds_from_now() -> None:
    options = RunOptions.parse({"debounce": {"key": "cart-1", "seconds": 30, "max_wait_seconds": 300}})
    assert options.debounce == Debounce(key="cart-1", seconds=30, max_wait_seconds=300)
    assert options.schedule(NOW).available_at == NOW + timedelta(seconds=30)
    assert options.run_fields(NOW)["debounce"] == options.debounce
    assert RunOptions.parse({"debounce": {"key": "k", "seconds": 5}}).debounce == Debounce("k", 5, None)


def test_tags_keep_their_order_once_each() -> None:
    assert RunOptions.parse({"tags": ["b", "a", "b"]}).tags == ("b", "a")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"run_at": "2026-12-07T13:30:00+00:00", "expires_at": "2026-12-07T13:00:00Z"}, "expires_at"),
        ({"tags": ["a,b"]}, "tags[0]"),
        ({"priority": 1}, "priority"),
        ({"idempotency_key": True}, "idempotency_key"),
        ({"expires_at": "2026-12-07"}, "expires_at"),
        ({"idempotency_key": "order-7\n"}, "idempotency_key"),  # a trailing newline too
        ({"tags": ["a\n"]}, "tags[0]"),
        ({"debounce": ["k", 5]}, "debounce"),
        ({"debounce": {"key": "k\n", "seconds": 5}}, "debounce.key"),
        ({"debounce": {"key": "k", "seconds": True}}, "debounce.seconds"),
        ({"debounce": {"key": "k", "seconds": 5, "max_wait_seconds": 4}}, "debounce.max_wait_seconds"),
        ({"debounce": {"key": "k", "seconds": 5, "extra": 1}}, "debounce.extra"),
        ({"debounce": {"key": "k", "seconds": 5}, "run_at": "2026-12-07T13:30:00Z"}, "debounce"),
        ({"debounce": {"key": "k", "seconds": 60}, "ttl_seconds": 30}, "ttl_seconds"),
    ],
)
def test_a_bad_value_names_its_field(fields: dict[str, object], field: str) -> None:
    with pytest.raises(FieldError) as refused:
        RunOptions.parse(fields).schedule(NOW)
    assert refused.value.field == field


def test_a_document_without_option_fields_takes_the_defaults_without_checking_each() -> None:
    # the fast path (no option field at all) and the full parse (every field given as null) agree
    nulls = dict.fromkeys(
        (
            "idempotency_key",
            "idempotency_ttl_seconds",
            "priority",
            "tags",
            "run_at",
            "delay_seconds",
            "expires_at",
            "ttl_seconds",
            "concurrency_key",
            "debounce",
        )
    )
    # the fast path knows a document has no option field by the fields' names: each is the key read
    assert set(nulls) == run_options._OPTION_FIELDS
    assert RunOptions.parse({"handler_name": "sample", "params": {}}) == RunOptions.parse(nulls)
    # one field present takes the full parse, and its checks
    with pytest.raises(FieldError, match="priority"):
        RunOptions.parse({"handler_name": "sample", "priority": "urgent"})
