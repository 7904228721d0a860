"""Params checked at the edge: the queue dispatcher turns a record whose params its handler's
schema refuses into a rejected event with the reason, before any run exists. On every backend
(rejected_events is written on each)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.security.conftest import msk_event, rejected
from tests.security.test_job_store import add_job
from tests.support.harness import Harness

PREPROCESS = {"input_path": "raw/sales.csv", "output_path": "clean/sales.parquet"}


@pytest.mark.parametrize(
    ("handler_name", "params", "reason"),
    [
        ("pandas_preprocess", {**PREPROCESS, "shell": "rm -rf /"}, "must not contain {'shell'}"),
        ("pandas_preprocess", {**PREPROCESS, "dtypes": {"id": "object"}}, "params.dtypes.id must be one of"),
        ("db_loader", {"input_path": "a", "table": "sales", "mode": "drop"}, "params.mode must be one of"),
        (
            "sample",
            {"on_success": {"handler_name": "os_system", "params": {}}},
            'unknown handler "os_system"',
        ),
    ],
)
def test_bad_params_become_rejected_events(
    harness: Harness, handler_name: str, params: dict[str, Any], reason: str
) -> None:
    report = harness.invoke_queue(msk_event({"handler_name": handler_name, "params": params}))

    assert report["dispatched"] == []
    assert harness.executions() == []
    (refused,) = rejected(harness)
    assert reason in refused.reason
    assert '"handler_name"' in refused.raw_value  # kept as it came, for the operator


def test_a_good_record_beside_a_bad_one_still_runs(harness: Harness) -> None:
    event = msk_event(
        {"handler_name": "sample", "params": {"name": "fine"}},
        {"handler_name": "db_loader", "params": {"input_path": "a", "table": "sales", "database_url": "x"}},
    )
    report = harness.invoke_queue(event)

    assert len(report["dispatched"]) == 1
    assert len(rejected(harness)) == 1
    assert harness.drain_queue() == 1
    assert [run.status for run in harness.executions()] == ["SUCCESS"]


def test_params_the_cron_job_completes_are_accepted(harness: Harness) -> None:
    """Event params are merged over the matching cron job's: required fields may come from there."""
    job_id = add_job(harness, "nightly-clean", "pandas_preprocess", PREPROCESS)

    report = harness.invoke_queue(
        msk_event(
            {"handler_name": "pandas_preprocess", "params": {"drop_nulls": ["order_id"]}, "job_id": job_id}
        )
    )

    assert rejected(harness) == []
    (run,) = harness.executions()
    assert report["dispatched"] == [run.id]
    assert run.params == {**PREPROCESS, "drop_nulls": ["order_id"]}
