"""Cron expressions, slots, the misfire policy and the tick time of scheduler events."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from jobu.cron import Schedule, validate_cron_expression
from jobu.documents import MAX_PARAMS_BYTES
from jobu.errors import InvalidCronJobError
from jobu.operations.cron_jobs import parse_spec, validate_spec
from jobu.specs import CronJobSpec
from tests.conftest import WORKER_TIMEOUTS


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * * * *", "schedules finer than one minute are not supported"),
        ("*/10 * * * * *", "has 6 fields"),
        ("61 * * * *", "the minute field '61' is not valid: 61 is outside 0-59"),
        ("0-61 * * * *", "the minute field '0-61' is not valid: 61 is outside 0-59"),
        ("* 25 * * *", "the hour field '25' is not valid: 25 is outside 0-23"),
        ("0 0 0 * *", "the day-of-month field '0' is not valid: 0 is outside 1-31"),
        ("0 0 * 13 *", "the month field '13' is not valid: 13 is outside 1-12"),
        ("0 0 * * 8", "the day-of-week field '8' is not valid: 8 is outside 0-7"),
        ("*/0 * * * *", "the minute field '\\*/0' is not valid: a step of 0"),
        ("H * * * *", "hashed values \\(H\\) are not supported"),
        ("0 0 * FOO *", "the month field 'FOO' is not valid: use numbers 1-12"),
        ("0 0 30 2 *", "never fires: no calendar date has day-of-month '30' in month '2'"),
        ("0 0 31 4,6 *", "never fires"),
        ("* * *", "has 3 fields: expected 5"),
        ("every minute", "has 2 fields"),
        ("@reboot", "is not a schedule jobu keeps: the macros are @yearly"),
        ("", "is empty"),
    ],
)
def test_refused_expressions_say_why(expression: str, message: str) -> None:
    with pytest.raises(InvalidCronJobError, match=message):
        validate_cron_expression(expression)


@pytest.mark.parametrize(
    "expression",
    [
        "* * * * *",
        "*/5 9-17 * * mon-fri",
        "0 0 1 * *",
        "0 0 29 2 *",
        "0 9 * * THU",
        "0 0 * * 7",
        "@hourly",
        "@DAILY",
    ],
)
def test_accepted_expressions(expression: str) -> None:
    validate_cron_expression(expression)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("2026-01-01T12:00:00", "2026-01-01T12:00:00"),  # a slot exactly at the tick counts
        ("2026-01-01T12:00:00.5", "2026-01-01T12:00:00"),
        ("2026-01-01T11:59:59.999", "2026-01-01T11:55:00"),
        ("2026-01-01T12:04:59", "2026-01-01T12:00:00"),
    ],
)
def test_latest_slot_for_every_five_minutes(moment: str, expected: str) -> None:
    assert Schedule("*/5 * * * *", "UTC").latest_at_or_before(at(moment)) == at(expected)


def test_missed_ticks_coalesce_into_the_latest_slot() -> None:
    # the dispatcher was not invoked for three hours: one run, for the latest slot, then onward
    tick = at("2026-01-01T15:00:30")
    assert Schedule("0 * * * *", "UTC").latest_at_or_before(tick) == at("2026-01-01T15:00:00")
    assert Schedule("0 * * * *", "UTC").next_after(tick) == at("2026-01-01T16:00:00")


def test_next_slot_is_strictly_after() -> None:
    assert Schedule("*/5 * * * *", "UTC").next_after(at("2026-01-01T12:00:00")) == at("2026-01-01T12:05:00")


def spec(**overrides: object) -> CronJobSpec:
    return CronJobSpec.model_validate(
        {"name": "j", "cron_expression": "* * * * *", "handler_name": "sample", **overrides}
    )


def test_unknown_handler_is_refused_with_the_known_names() -> None:
    with pytest.raises(InvalidCronJobError, match=r"unknown handler 'nope'; registered handlers: a, sample"):
        validate_spec(
            spec(handler_name="nope"), known_handlers={"sample", "a"}, worker_timeouts=WORKER_TIMEOUTS
        )


def test_timeout_longer_than_the_worker_can_run_is_refused() -> None:
    validate_spec(spec(timeout_seconds=595), known_handlers={"sample"}, worker_timeouts={"default": 600})
    with pytest.raises(InvalidCronJobError, match="may take at most 595s"):
        validate_spec(spec(timeout_seconds=596), known_handlers={"sample"}, worker_timeouts={"default": 600})
    # Lambda's ceiling (900 s) less the worker's margin: the one limit, whatever the worker's Timeout
    with pytest.raises(ValidationError, match="less than or equal to 895"):
        spec(timeout_seconds=896)


def test_a_job_timeout_is_bounded_by_the_worker_of_its_handlers_pool() -> None:
    timeouts = {"default": 60, "pipeline": 900}
    preprocess = {"input_path": "in.csv", "output_path": "out.parquet"}
    pipeline_job = spec(handler_name="pandas_preprocess", handler_params=preprocess, timeout_seconds=600)
    validate_spec(pipeline_job, known_handlers={"pandas_preprocess"}, worker_timeouts=timeouts)
    with pytest.raises(InvalidCronJobError, match="the worker of pool 'default' runs at most 60s") as refused:
        validate_spec(spec(timeout_seconds=600), known_handlers={"sample"}, worker_timeouts=timeouts)
    assert refused.value.field == "timeout_seconds"
    with pytest.raises(InvalidCronJobError, match="runs in pool 'pipeline', which has no worker here"):
        validate_spec(pipeline_job, known_handlers={"pandas_preprocess"}, worker_timeouts={"default": 900})


def test_oversized_params_are_refused() -> None:
    big = {"blob": "x" * MAX_PARAMS_BYTES}
    with pytest.raises(InvalidCronJobError, match=f"the limit is {MAX_PARAMS_BYTES}"):
        validate_spec(spec(handler_params=big), known_handlers={"sample"}, worker_timeouts=WORKER_TIMEOUTS)


def test_parse_spec_reports_every_field_problem() -> None:
    with pytest.raises(
        InvalidCronJobError, match=r"max_retry: .*greater than or equal to 0.*colour: Extra inputs"
    ):
        parse_spec(
            {"name": "j", "cron_expression": "* * * * *", "handler_name": "s", "max_retry": -1, "colour": 1}
        )
