"""The seed's sample handlers, run by the real worker on every backend."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jobu.handler_manifest import known_handler_names
from jobu.models import Execution
from tests.support.harness import Harness, kafka_record, msk_event, work_message

TOPIC = "jobu-events"


def run_event(harness: Harness, handler_name: str, params: dict[str, Any]) -> Execution:
    """Write one event run, run it through the worker, return it finished."""
    execution_id = harness.insert_event_run(handler_name, params)
    assert harness.invoke_worker([work_message(execution_id)]) == {"batchItemFailures": []}
    finished = harness.with_store(lambda s: s.runs.get(execution_id))
    assert finished is not None
    return finished  # type: ignore[no-any-return]


def test_sample_items_crud(harness: Harness) -> None:
    created = run_event(harness, "sample1", {"name": "widget", "value": {"colour": "blue"}})
    assert (created.status, created.result["action"], created.result["count"]) == ("SUCCESS", "create", 1)
    item_id = created.result["id"]

    read = run_event(harness, "sample2", {"id": item_id})
    assert read.result["data"]["name"] == "widget"
    assert read.result["data"]["value"] in ({"colour": "blue"}, '{"colour":"blue"}')

    updated = run_event(harness, "sample3", {"id": item_id, "value": [1, 2, 3]})
    assert (updated.status, updated.result["count"]) == ("SUCCESS", 1)

    run_event(harness, "sample1", {"name": "gadget"})
    listed = run_event(harness, "sample2", {})
    assert [item["name"] for item in listed.result["data"]] == ["widget", "gadget"]

    deleted = run_event(harness, "sample4", {"id": item_id})
    assert deleted.result["count"] == 1
    missing = run_event(harness, "sample2", {"id": item_id})
    assert (missing.status, missing.error_message) == ("FAILED", "no such item")


def test_sample1_without_a_name_fails_with_the_reason(harness: Harness) -> None:
    failed = run_event(harness, "sample1", {"value": 1})
    assert (failed.status, failed.error_message) == ("FAILED", "ValueError: sample1 needs a name")


def test_sample9_queries_the_databases_operators_named(
    harness: Harness, sqlite_url: str, postgres_url: str, mysql_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOBU_LOAD_DATABASES", f"lite={sqlite_url},pg={postgres_url},my={mysql_url}")
    names = {"databases": ["lite", "pg", "my", "jobstore"], "series_rows": 500}
    concurrent = run_event(harness, "sample9", names)
    sequential = run_event(harness, "sample9", {**names, "action": "sequential"})
    for run, mode in ((concurrent, "concurrent"), (sequential, "sequential")):
        assert run.status == "SUCCESS", run.error_message
        stats = run.result["data"]["databases"]
        assert [s["database"] for s in stats] == ["lite", "pg", "my", "jobstore"]
        assert [s["backend"] for s in stats][:3] == ["sqlite", "postgres", "mysql"]
        assert stats[3]["backend"] == harness.database_url.split(":")[0].replace("postgresql", "postgres")
        assert all(s["row_count"] == 500 for s in stats)
        assert "MariaDB" in stats[2]["version"] or stats[2]["version"][0].isdigit()
        assert run.result["action"] == mode
        assert run.result["elapsed_ms"] > 0
    # one after another takes at least as long as the slowest database alone
    slowest = max(s["elapsed_ms"] for s in sequential.result["data"]["databases"])
    assert sequential.result["elapsed_ms"] >= slowest


def test_sleep_waits_its_seconds(harness: Harness) -> None:
    slept = run_event(harness, "sleep", {"seconds": 0.2, "name": "nap"})
    assert slept.status == "SUCCESS", slept.error_message
    assert slept.result["data"]["seconds"] == 0.2
    assert slept.result["data"]["name"] == "nap"
    assert slept.result["data"]["slept"] >= 0.2
    assert slept.started_at is not None
    assert slept.finished_at is not None
    assert (slept.finished_at - slept.started_at).total_seconds() >= 0.2


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"seconds": 61}, "seconds"),
        ({"seconds": -1}, "seconds"),
        ({"seconds": "soon"}, "seconds"),
        ({"seconds": 1, "minutes": 2}, "minutes"),
    ],
)
def test_sleep_refuses_params_outside_its_schema(
    harness: Harness, params: dict[str, Any], reason: str
) -> None:
    """The schema is checked where a request comes in (a Kafka record is rejected) and by the worker;
    each names the field at fault."""
    record = json.dumps({"handler_name": "sleep", "params": params})
    report = harness.invoke_queue(msk_event(kafka_record(1, record)))
    assert report["dispatched"] == []
    assert len(report["rejected"]) == 1
    assert reason in report["rejected"][0]
    failed = run_event(harness, "sleep", params)  # stored anyway (an old run): the worker refuses it
    assert failed.status == "FAILED"
    assert reason in (failed.error_message or "")


def test_manifest_names_every_sample() -> None:
    assert {"sample", "sample1", "sample2", "sample3", "sample4", "sample9", "sleep"} <= known_handler_names()
