"""A producer's W3C traceparent, from a Kafka record's headers through the queue dispatcher to the
run and the worker, on every backend; a malformed one is ignored, never a reason to reject."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from jobu.observability import logger
from jobu_local.commands.cli import main as jobu
from tests.support.harness import Harness, job_message, kafka_record, msk_event

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


def _traced(offset: int, traceparent: str, **params: str) -> dict[str, object]:
    record = kafka_record(offset, job_message(**params))
    # the shape AWS delivers: a list of {name: [byte, ...]}
    record["headers"] = [
        {"content-type": list(b"application/json")},
        {"traceparent": list(traceparent.encode())},
    ]
    return record


@contextmanager
def _log_lines() -> Iterator[list[dict[str, object]]]:
    """The functions' log lines as Powertools formats them (with the keys the worker appends)."""
    stream = io.StringIO()
    sink = logging.StreamHandler(stream)
    sink.setFormatter(logger.registered_formatter)
    logger.addHandler(sink)
    found: list[dict[str, object]] = []
    try:
        yield found
    finally:
        logger.removeHandler(sink)
    found += [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_traceparent_is_kept_on_the_run_and_continued_by_the_worker(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    report = harness.invoke_queue(
        msk_event(_traced(1, TRACEPARENT, name="traced"), kafka_record(2, job_message(name="untraced")))
    )
    harness.invoke_queue(msk_event(_traced(1, f"00-{'1' * 32}-{'2' * 16}-01", name="traced")))  # redelivered
    with _log_lines() as lines:
        harness.drain_queue()

    traced, untraced = sorted(harness.executions(), key=lambda run: run.source_offset or 0)
    assert len(report["dispatched"]) == 2
    assert traced.trace_parent == TRACEPARENT  # the redelivery's header did not replace the first
    assert untraced.trace_parent is None
    assert (traced.status, untraced.status) == ("SUCCESS", "SUCCESS")
    traced_lines = [line for line in lines if line.get("execution_id") == traced.id]
    assert {line["message"] for line in traced_lines} >= {"run started", "run succeeded"}
    assert {line.get("trace_id") for line in traced_lines} == {TRACE_ID}
    assert [line for line in lines if line.get("execution_id") == untraced.id]
    assert all("trace_id" not in line for line in lines if line.get("execution_id") == untraced.id)
    capsys.readouterr()
    assert jobu(["runs", "show", str(traced.id), "--database-url", harness.database_url]) == 0
    assert (
        f"trace            {TRACE_ID} (traceparent {TRACEPARENT}; X-Ray 1-4bf92f35-"
        in capsys.readouterr().out
    )


@pytest.mark.parametrize(
    "header",
    [
        f"00-{TRACE_ID.upper()}-00f067aa0ba902b7-01",  # upper-case hex
        f"01-{TRACE_ID}-00f067aa0ba902b7-01",  # a version this reader does not know
        f"00-{'0' * 32}-00f067aa0ba902b7-01",  # the invalid all-zero trace id
        f"00-{TRACE_ID}-{'0' * 16}-01",  # the invalid all-zero parent id
        f"00-{TRACE_ID}-00f067aa0ba902b7-01\n",  # one byte too many
        f"00-{TRACE_ID}-00f067aa0ba902b7-0\x1b",  # a control character
        "x" * 10_000,
    ],
)
def test_a_malformed_traceparent_is_ignored_and_the_record_runs(harness: Harness, header: str) -> None:
    report = harness.invoke_queue(msk_event(_traced(5, header, name="badly traced")))

    (run,) = harness.executions()
    assert report["rejected"] == []
    assert run.trace_parent is None
    assert run.params["name"] == "badly traced"
