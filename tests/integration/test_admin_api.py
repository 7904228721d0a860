"""The original jobu's admin behaviours, through the admin function's real entry point.

Every request is an API Gateway HTTP API (payload 2.0) event handed to functions/admin_api/app.py,
on PostgreSQL, MariaDB and SQLite in turn, with the work queue and its dead-letter queue in moto.
The worker and the queue dispatcher are the real entry points too (tests.support.harness).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from jobu.models import ExecutionStatus, NewExecution
from jobu.store import JobStore
from tests.support import admin_client
from tests.support.admin_client import AdminClient
from tests.support.function_environment import function_environment
from tests.support.harness import Harness, work_message

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
UNREACHABLE = {
    "postgres": "postgresql://postgres@127.0.0.1:1/jobu",
    "mysql": "mysql://root@127.0.0.1:1/jobu",
    "sqlite": "sqlite:////nonexistent-folder/jobu.db",
}


def job(name: str = "nightly", **fields: Any) -> dict[str, Any]:
    return {"name": name, "cron_expression": "0 2 * * *", "handler_name": "sample", **fields}


def create(admin: AdminClient, name: str = "nightly", **fields: Any) -> dict[str, Any]:
    response = admin.post("/api/crons", body=job(name, **fields))
    assert response.status == 201, response.body
    created: dict[str, Any] = response.json
    return created


def queued_messages(harness: Harness) -> list[dict[str, Any]]:
    return [json.loads(m["Body"]) for m in harness.receive()]


# --- cron jobs ------------------------------------------------------------------------------------


def test_cron_job_create_read_list_update_toggle_delete(admin: AdminClient) -> None:
    created = create(admin, handler_params={"action": "read"}, description="first")
    assert created["next_run_at"] is not None
    assert created["next_run_at"].endswith("T02:00:00Z")
    assert admin.get(f"/api/crons/{created['id']}").json == created
    create(admin, "b-job")
    create(admin, "c-job", is_enabled=False)

    first = admin.get("/api/crons", query={"page": 1, "size": 2}).json
    assert (first["total"], first["page"], first["size"], first["pages"]) == (3, 1, 2, 2)
    assert [item["name"] for item in first["items"]] == ["b-job", "c-job"]
    second = admin.get("/api/crons", query={"page": 2, "size": 2}).json
    assert [item["name"] for item in second["items"]] == ["nightly"]
    disabled = admin.get("/api/crons", query={"is_enabled": "false"}).json
    assert [item["name"] for item in disabled["items"]] == ["c-job"]

    updated = admin.put(f"/api/crons/{created['id']}", body={"cron_expression": "30 * * * *", "max_retry": 3})
    assert updated.status == 200, updated.body
    assert (updated.json["cron_expression"], updated.json["max_retry"]) == ("30 * * * *", 3)
    assert updated.json["description"] == "first"  # not given: kept
    assert updated.json["next_run_at"].endswith(":30:00Z")

    off = admin.post(f"/api/crons/{created['id']}/toggle").json
    assert (off["is_enabled"], off["next_run_at"]) == (False, None)
    on = admin.post(f"/api/crons/{created['id']}/toggle").json
    assert on["is_enabled"] is True
    assert on["next_run_at"].endswith(":30:00Z")

    deleted = admin.delete(f"/api/crons/{created['id']}")
    assert (deleted.status, deleted.body) == (204, "")
    assert admin.get(f"/api/crons/{created['id']}").status == 404
    assert admin.get("/api/crons").json["total"] == 2


def test_duplicate_name_is_a_409(admin: AdminClient) -> None:
    create(admin, "nightly")
    other = create(admin, "hourly")
    again = admin.post("/api/crons", body=job("nightly"))
    assert (again.status, again.json["error"]) == (409, "duplicate")
    assert "nightly" in again.json["detail"]
    renamed = admin.put(f"/api/crons/{other['id']}", body={"name": "nightly"})
    assert (renamed.status, renamed.json["error"]) == (409, "duplicate")
    assert admin.get(f"/api/crons/{other['id']}").json["name"] == "hourly"


@pytest.mark.parametrize(
    ("fields", "error", "reason"),
    [
        ({"cron_expression": "* * * * * *"}, "invalid_cron_job", "schedules finer than one minute"),
        ({"cron_expression": "61 * * * *"}, "invalid_cron_job", "is not valid"),
        ({"cron_expression": "0 0 30 2 *"}, "invalid_cron_job", "never fires"),
        ({"handler_name": "nope"}, "invalid_cron_job", "unknown handler 'nope'"),
        ({"timeout_seconds": 896}, "validation_error", "less than or equal to 895"),  # Lambda's 900 s less 5
        ({"handler_params": {"bad": "nul\x00"}}, "invalid_cron_job", "NUL character"),
        ({"name": "x" * 101}, "validation_error", "at most 100 characters"),
        ({"max_retry": 11}, "validation_error", "less than or equal to 10"),
        ({"colour": "red"}, "validation_error", "Extra inputs are not permitted"),
    ],
)
def test_invalid_definitions_are_a_400_that_says_why(
    admin: AdminClient, fields: dict[str, Any], error: str, reason: str
) -> None:
    refused = admin.post("/api/crons", body=job(**fields))
    assert (refused.status, refused.json["error"]) == (400, error)
    assert reason in json.dumps(refused.json["detail"])
    existing = create(admin, "existing")
    if error == "invalid_cron_job":
        changed = admin.put(f"/api/crons/{existing['id']}", body=fields)
        assert (changed.status, changed.json["error"]) == (400, error)
        assert admin.get(f"/api/crons/{existing['id']}").json == existing
    assert admin.get("/api/crons").json["total"] == 1


def test_malformed_requests_are_a_400_naming_the_field(admin: AdminClient) -> None:
    not_json = admin.post("/api/crons", raw_body="{not json")
    assert (not_json.status, not_json.json["error"]) == (400, "validation_error")
    wrong_id = admin.get("/api/crons/abc")
    assert wrong_id.status == 400
    assert wrong_id.json["detail"][0]["loc"] == ["path", "job_id"]
    too_big = admin.get("/api/jobs", query={"size": 101})
    assert too_big.json["detail"][0]["loc"] == ["query", "size"]
    status = admin.get("/api/jobs", query={"status": "DONE"})
    assert (status.status, status.json["detail"][0]["loc"]) == (400, ["query", "status"])


def test_what_does_not_exist_is_a_404(admin: AdminClient) -> None:
    missing = [
        admin.get("/api/crons/999"),
        admin.put("/api/crons/999", body={"description": "x"}),
        admin.delete("/api/crons/999"),
        admin.post("/api/crons/999/toggle"),
        admin.post("/api/crons/999/run"),
        admin.get("/api/jobs/999"),
        admin.post("/api/jobs/999/retry"),
        admin.delete("/api/jobs/999"),
        admin.get("/api/rejected/999"),
        admin.post("/api/rejected/999/replay"),
        admin.delete("/api/rejected/999"),
        admin.get("/api/nothing-here"),
    ]
    assert [(r.status, r.json["error"]) for r in missing] == [(404, "not_found")] * len(missing)


# --- runs -----------------------------------------------------------------------------------------


def event_run(offset: int, handler_name: str = "sample") -> NewExecution:
    return NewExecution(
        job_id=None,
        handler_name=handler_name,
        params={"name": f"event {offset}"},
        param_source="event",
        max_retry=0,
        timeout_seconds=60,
        source_topic="jobu-events",
        source_partition=0,
        source_offset=offset,
    )


async def end_run(store: JobStore, execution_id: int, status: ExecutionStatus, *, at: datetime) -> None:
    """Claim and finish a run the way the worker does."""
    assert await store.runs.claim(execution_id, attempt=0, now=at, deadline_at=at + timedelta(minutes=5))
    await store.runs.finish(
        execution_id, attempt=0, status=status, result=None, error_message=f"ended {status}", now=at
    )


def seed_history(harness: Harness, admin: AdminClient) -> dict[str, int]:
    """Four runs made an hour apart from T0: a cron run (FAILED), two sample events (SUCCESS,
    PENDING) and a sample1 event (TIMEOUT)."""
    cron = create(admin, "hourly", cron_expression="0 * * * *")

    async def seed(store: JobStore) -> dict[str, int]:
        job = await store.cron_jobs.get(cron["id"])
        assert job is not None
        (cron_run,) = (await store.runs.insert_backfill(job.id, [T0], now=T0)).created
        ids = {"cron": cron_run.id}
        for hour, (name, offset, handler) in enumerate(
            [("success", 1, "sample"), ("pending", 2, "sample"), ("timeout", 3, "sample1")], start=1
        ):
            (run,) = await store.runs.insert_events(
                [event_run(offset, handler)], now=T0 + timedelta(hours=hour)
            )
            ids[name] = run.id
        await end_run(store, ids["cron"], ExecutionStatus.FAILED, at=T0)
        await end_run(store, ids["success"], ExecutionStatus.SUCCESS, at=T0 + timedelta(hours=1))
        await end_run(store, ids["timeout"], ExecutionStatus.TIMEOUT, at=T0 + timedelta(hours=3))
        return ids

    ids: dict[str, int] = harness.with_store(seed)
    ids["job"] = cron["id"]
    return ids


def listed(admin: AdminClient, **query: Any) -> list[int]:
    response = admin.get("/api/jobs", query=query)
    assert response.status == 200, response.body
    page = response.json
    assert page["total"] == len(page["items"]) or page["size"] < page["total"]
    return [item["id"] for item in page["items"]]


def test_history_filters_by_cron_status_handler_and_dates(harness: Harness, admin: AdminClient) -> None:
    ids = seed_history(harness, admin)
    newest_first = [ids["timeout"], ids["pending"], ids["success"], ids["cron"]]
    assert listed(admin) == newest_first
    assert listed(admin, cron_id=ids["job"]) == [ids["cron"]]
    assert listed(admin, status="FAILED") == [ids["cron"]]
    assert listed(admin, handler_name="sample1") == [ids["timeout"]]
    assert listed(admin, handler_name="sample", status="PENDING") == [ids["pending"]]
    # the dates bound created_at, both ends included; no offset means UTC
    assert listed(admin, from_date="2026-11-01T13:00:00Z") == newest_first[:3]
    assert listed(admin, to_date="2026-11-01T13:00:00+00:00") == [ids["success"], ids["cron"]]
    assert listed(admin, from_date="2026-11-01T13:30:00", to_date="2026-11-01T14:00:00Z") == [ids["pending"]]
    assert listed(admin, from_date="2026-11-01T15:00:00+01:00", to_date="2026-11-01T16:00:00+01:00") == [
        ids["timeout"],
        ids["pending"],
    ]
    assert listed(admin, from_date="2026-11-02T00:00:00Z") == []
    page = admin.get("/api/jobs", query={"size": 3, "page": 2}).json
    assert (page["total"], page["pages"], [i["id"] for i in page["items"]]) == (4, 2, [ids["cron"]])
    assert page["items"][0]["cron_name"] == "hourly"
    backwards = admin.get(
        "/api/jobs", query={"from_date": "2026-11-02T00:00:00Z", "to_date": "2026-11-01T00:00:00Z"}
    )
    assert (backwards.status, backwards.json["error"]) == (400, "validation_error")
    assert "from_date is after to_date" in backwards.body


def test_retry_of_failed_runs_queues_a_new_attempt_and_success_is_refused(
    harness: Harness, admin: AdminClient
) -> None:
    ids = seed_history(harness, admin)
    retried = admin.post(f"/api/jobs/{ids['cron']}/retry")
    assert retried.status == 200, retried.body
    run = retried.json["run"]
    assert (run["status"], run["retry_count"], retried.json["queued"]) == ("PENDING", 1, True)
    assert run["error_message"] == "ended FAILED"  # kept until the new attempt ends
    assert queued_messages(harness) == [{"execution_id": ids["cron"], "attempt": 1}]
    harness.invoke_worker([work_message(ids["cron"], attempt=1)])
    assert admin.get(f"/api/jobs/{ids['cron']}").json["status"] == "SUCCESS"

    for name in ("success", "pending"):
        refused = admin.post(f"/api/jobs/{ids[name]}/retry")
        assert (refused.status, refused.json["error"]) == (400, "invalid_state")
        assert "only FAILED or TIMEOUT runs are retried" in refused.json["detail"]
    assert admin.post(f"/api/jobs/{ids['timeout']}/retry").status == 200


def test_bulk_retry_dry_run_first_then_apply(harness: Harness, admin: AdminClient) -> None:
    ids = seed_history(harness, admin)
    dry = admin.post("/api/jobs/bulk-retry", body={}).json
    assert dry == {"dry_run": True, "matched": 2, "ids": [ids["timeout"], ids["cron"]], "queued": []}
    assert queued_messages(harness) == []
    narrowed = admin.post("/api/jobs/bulk-retry", body={"handler_name": "sample1", "dry_run": False}).json
    assert (narrowed["matched"], narrowed["ids"], narrowed["queued"]) == (
        1,
        [ids["timeout"]],
        [ids["timeout"]],
    )
    assert admin.get(f"/api/jobs/{ids['timeout']}").json["status"] == "PENDING"
    assert admin.post("/api/jobs/bulk-retry", body={"status": "SUCCESS"}).json["matched"] == 0


def test_delete_a_finished_run_but_not_an_active_one(harness: Harness, admin: AdminClient) -> None:
    ids = seed_history(harness, admin)
    assert admin.delete(f"/api/jobs/{ids['success']}").status == 204
    assert admin.get(f"/api/jobs/{ids['success']}").status == 404
    active = admin.delete(f"/api/jobs/{ids['pending']}")
    assert (active.status, active.json["error"]) == (400, "invalid_state")
    assert admin.get("/api/jobs").json["total"] == 3


def test_run_now_with_overrides_records_where_each_param_came_from(
    harness: Harness, admin: AdminClient
) -> None:
    cron = create(admin, handler_params={"action": "read", "name": "from the job"}, allow_overlap=False)
    started = admin.post(f"/api/crons/{cron['id']}/run", body={"params": {"name": "by hand", "value": 7}})
    assert started.status == 201, started.body
    run = started.json["run"]
    assert (run["param_source"], run["job_id"], started.json["queued"]) == ("manual", cron["id"], True)
    assert run["params"] == {"action": "read", "name": "by hand", "value": 7}
    detail = admin.get(f"/api/jobs/{run['id']}").json
    assert detail["params_provenance"] == {"action": "cron", "name": "manual", "value": "manual"}
    assert detail["cron_name"] == "nightly"

    overlapping = admin.post(f"/api/crons/{cron['id']}/run")
    assert (overlapping.status, overlapping.json["error"]) == (400, "invalid_state")
    assert harness.drain_queue() == 1
    assert admin.get(f"/api/jobs/{run['id']}").json["status"] == "SUCCESS"
    again = admin.post(f"/api/crons/{cron['id']}/run").json["run"]  # no overrides: the job's params
    assert admin.get(f"/api/jobs/{again['id']}").json["params_provenance"] == {
        "action": "cron",
        "name": "cron",
    }


# --- rejected records -----------------------------------------------------------------------------


def kafka_event(offset: int, message: dict[str, Any]) -> dict[str, Any]:
    value = base64.b64encode(json.dumps(message).encode()).decode()
    record = {"topic": "jobu-events", "partition": 0, "offset": offset, "value": value}
    return {"eventSource": "aws:kafka", "records": {"jobu-events-0": [record]}}


def test_a_rejected_record_is_replayed_once_it_can_run(harness: Harness, admin: AdminClient) -> None:
    harness.invoke_queue(kafka_event(5, {"handler_name": "sample", "params": {"name": "ev"}, "job_id": 1}))
    (rejected,) = admin.get("/api/rejected").json["items"]
    assert (rejected["record_key"], rejected["reason"]) == ("jobu-events:0:5", "no cron job with id 1")
    shown = admin.get(f"/api/rejected/{rejected['id']}").json
    assert json.loads(shown["raw_value"])["job_id"] == 1

    refused = admin.post(f"/api/rejected/{rejected['id']}/replay").json
    assert (refused["outcome"], refused["reason"]) == ("rejected", "no cron job with id 1")
    cron = create(admin, handler_params={"action": "read", "name": "base"})
    assert cron["id"] == 1
    replayed = admin.post(f"/api/rejected/{rejected['id']}/replay").json
    assert replayed["outcome"] == "dispatched"
    run = replayed["run"]
    assert (run["job_id"], run["source_offset"], run["params"]) == (1, 5, {"action": "read", "name": "ev"})
    assert admin.get(f"/api/jobs/{run['id']}").json["params_provenance"] == {
        "action": "cron",
        "name": "event",
    }
    assert admin.get("/api/rejected").json["total"] == 0
    assert admin.post(f"/api/rejected/{rejected['id']}/replay").status == 404
    harness.invoke_queue(kafka_event(5, {"handler_name": "sample", "job_id": 1}))  # Kafka redelivers it
    assert admin.get("/api/jobs").json["total"] == 1


def test_discard_a_rejected_record(harness: Harness, admin: AdminClient) -> None:
    harness.invoke_queue(kafka_event(6, {"handler_name": "not-deployed"}))
    (rejected,) = admin.get("/api/rejected").json["items"]
    assert admin.delete(f"/api/rejected/{rejected['id']}").status == 204
    assert admin.get("/api/rejected").json == {"items": [], "total": 0, "page": 1, "size": 20, "pages": 0}


# --- health ---------------------------------------------------------------------------------------


def test_health_and_readiness_with_the_database_down(
    database_url: str, admin: AdminClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert admin.get("/health").json == {"status": "healthy"}
    ready = admin.get("/ready")
    assert (ready.status, ready.json["database"]) == (200, "ok")

    backend = ready.json["backend"]
    monkeypatch.setenv("JOBU_DATABASE_URL", UNREACHABLE[backend])
    admin_client.reset()
    down = admin.get("/ready")
    assert (down.status, down.json["error"]) == (503, "database_unavailable")
    assert admin.get("/api/crons").status == 503
    assert admin.get("/health").status == 200  # liveness never touches the database
    monkeypatch.setenv("JOBU_DATABASE_URL", database_url)
    admin_client.reset()
    assert admin.get("/ready").status == 200


def test_a_request_that_records_no_metric_warns_of_nothing(sqlite_url: str) -> None:
    """The function as Lambda runs it, in a process of its own with Python's default warning filters:
    Powertools' "No application metrics to publish" UserWarning was a line of every admin request's log."""
    script = (
        "from functions.admin_api import app\n"
        "from tests.support.admin_client import api_event\n"
        "from tests.support.harness import FakeLambdaContext\n"
        "for path in ('/health', '/api/handlers', '/health'):\n"
        "    print(app.handler(api_event('GET', path), FakeLambdaContext())['statusCode'])\n"
    )
    environment = function_environment(
        JOBU_DATABASE_URL=sqlite_url,
        JOBU_WORK_QUEUE_URL="http://127.0.0.1:1/000000000000/work",
        JOBU_DEAD_LETTER_QUEUE_URL="http://127.0.0.1:1/000000000000/dlq",
        POWERTOOLS_TRACE_DISABLED="true",
    )
    env = {name: value for name, value in os.environ.items() if not name.startswith(("JOBU_", "POWERTOOLS_"))}
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env | environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert [line for line in done.stdout.splitlines() if not line.startswith("{")] == ["200", "200", "200"]
    assert done.stderr == ""
