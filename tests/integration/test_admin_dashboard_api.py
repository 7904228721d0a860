"""The admin operations the dashboard added (issue 11), through the admin function's entry point on
PostgreSQL, MariaDB and SQLite: runs per status, runs and durations per time bucket, each cron job's
latest runs, a cron expression's next fire times, the handlers, and refusals that name their field.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from croniter import croniter

from jobu.models import ExecutionStatus
from jobu.store import JobStore
from tests.integration.test_admin_api import create, event_run
from tests.support import admin_client
from tests.support.admin_client import AdminClient
from tests.support.harness import Harness

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ALL_STATUSES = [status.value for status in ExecutionStatus]


# (created minutes after T0, handler, final status or None for PENDING, seconds it ran)
RUNS = [
    (0, "sample", ExecutionStatus.SUCCESS, 2.0),
    (0, "sample", ExecutionStatus.FAILED, 4.0),
    (1, "sample1", ExecutionStatus.SUCCESS, 10.0),
    (3, "sample", None, 0.0),
    (3, "sample", ExecutionStatus.TIMEOUT, 60.0),
]


def seed(harness: Harness, job_id: int | None = None) -> list[int]:
    async def insert(store: JobStore) -> list[int]:
        ids = []
        for offset, (minute, handler, status, seconds) in enumerate(RUNS):
            created = T0 + timedelta(minutes=minute, seconds=offset)
            new = dataclasses.replace(event_run(offset, handler), job_id=job_id)
            (run,) = await store.runs.insert_events([new], now=created)
            ids.append(run.id)
            if status is None:
                continue
            started = created + timedelta(seconds=1)
            deadline = started + timedelta(minutes=5)
            assert await store.runs.claim(run.id, attempt=0, now=started, deadline_at=deadline)
            ended = started + timedelta(seconds=seconds)
            await store.runs.finish(
                run.id, attempt=0, status=status, result=None, error_message=None, now=ended
            )
        return ids

    ids: list[int] = harness.with_store(insert)
    return ids


def ok(response: Any) -> Any:
    assert response.status == 200, response.body
    return response.json


def test_status_counts_follow_the_run_history_filters(harness: Harness, admin: AdminClient) -> None:
    seed(harness)
    counts = ok(admin.get("/api/stats/status-counts"))
    assert sorted(counts["counts"]) == sorted(ALL_STATUSES)  # every status, zero included
    assert {k: v for k, v in counts["counts"].items() if v} == {
        "SUCCESS": 2,
        "FAILED": 1,
        "PENDING": 1,
        "TIMEOUT": 1,
    }
    assert counts["total"] == 5
    sample1 = ok(admin.get("/api/stats/status-counts", query={"handler_name": "sample1"}))
    assert (sample1["counts"]["SUCCESS"], sample1["total"]) == (1, 1)
    later = ok(admin.get("/api/stats/status-counts", query={"from_date": "2026-11-01T12:02:00Z"}))
    assert (later["counts"]["PENDING"], later["counts"]["TIMEOUT"], later["total"]) == (1, 1, 2)
    backwards = admin.get(
        "/api/stats/status-counts",
        query={"from_date": "2026-11-02T00:00:00Z", "to_date": "2026-11-01T00:00:00Z"},
    )
    assert (backwards.status, backwards.json["error"]) == (400, "validation_error")


def test_timeline_counts_runs_per_minute_and_their_durations(harness: Harness, admin: AdminClient) -> None:
    seed(harness)
    timeline = ok(
        admin.get(
            "/api/stats/timeline",
            query={"from_date": "2026-11-01T12:00:00Z", "to_date": "2026-11-01T12:05:00Z"},
        )
    )
    assert (timeline["bucket_seconds"], len(timeline["buckets"])) == (60, 5)
    first, second, third, fourth, _ = timeline["buckets"]
    assert first["start"].startswith("2026-11-01T12:00:00")
    assert (first["runs"], first["by_status"], first["timed"]) == (2, {"SUCCESS": 1, "FAILED": 1}, 2)
    assert (first["duration_avg_seconds"], first["duration_max_seconds"]) == (3.0, 4.0)
    assert (second["runs"], second["duration_max_seconds"]) == (1, 10.0)
    assert (third["runs"], third["duration_avg_seconds"]) == (0, None)
    # a PENDING run never ran: counted, not timed
    assert (fourth["runs"], fourth["by_status"], fourth["timed"]) == (2, {"PENDING": 1, "TIMEOUT": 1}, 1)
    assert fourth["duration_avg_seconds"] == 60.0

    hourly = ok(
        admin.get(
            "/api/stats/timeline",
            query={
                "from_date": "2026-11-01T12:00:00Z",
                "to_date": "2026-11-01T13:00:00Z",
                "bucket_seconds": 3600,
                "handler_name": "sample",
            },
        )
    )
    assert [(b["runs"], b["timed"]) for b in hourly["buckets"]] == [(4, 3)]
    assert hourly["buckets"][0]["duration_max_seconds"] == 60.0


def test_timeline_window_defaults_and_limits(harness: Harness, admin: AdminClient) -> None:
    seed(harness)
    recent = ok(admin.get("/api/stats/timeline"))  # the last hour up to now: none of the seeded runs
    assert len(recent["buckets"]) in (60, 61)  # 60 buckets, one more when now is not on a minute
    assert sum(bucket["runs"] for bucket in recent["buckets"]) == 0
    long = ok(
        admin.get(
            "/api/stats/timeline",
            query={"from_date": "2026-01-01T00:00:00Z", "to_date": "2026-11-01T12:05:00Z"},
        )
    )
    # cut to the last 1,440 buckets, started on a whole minute
    assert len(long["buckets"]) == 1440
    assert long["from_date"].startswith("2026-10-31T12:05:00")
    assert sum(bucket["runs"] for bucket in long["buckets"]) == 5
    too_fine = admin.get("/api/stats/timeline", query={"bucket_seconds": 1})
    assert (too_fine.status, too_fine.json["detail"][0]["loc"]) == (400, ["query", "bucket_seconds"])


def test_recent_runs_of_each_cron_job_newest_first(harness: Harness, admin: AdminClient) -> None:
    first = create(admin, "first")
    second = create(admin, "second")
    ids = seed(harness, job_id=first["id"])
    strips = ok(
        admin.get(
            "/api/stats/recent-runs",
            query={"cron_ids": f"{second['id']},{first['id']},999", "per_job": 3},
        )
    )
    assert [strip["cron_id"] for strip in strips] == [second["id"], first["id"], 999]
    assert (strips[0]["runs"], strips[2]["runs"]) == ([], [])
    runs = strips[1]["runs"]
    assert [run["id"] for run in runs] == ids[::-1][:3]
    assert [run["status"] for run in runs] == ["TIMEOUT", "PENDING", "SUCCESS"]
    assert runs[0]["finished_at"] is not None
    assert runs[1]["started_at"] is None
    for bad in ("", "1,,2", "0", "a", ",".join(["1"] * 101)):
        refused = admin.get("/api/stats/recent-runs", query={"cron_ids": bad})
        assert (refused.status, refused.json["error"]) == (400, "validation_error"), bad


def test_cron_preview_gives_the_dispatchers_next_fire_times(admin: AdminClient) -> None:
    expression = "*/15 9-17 * * 1-5"
    with time_machine.travel(T0, tick=False):  # a Sunday, 12:00 UTC
        preview = ok(admin.get("/api/cron-preview", query={"cron_expression": expression}))
        twenty = ok(admin.get("/api/cron-preview", query={"cron_expression": "0 2 * * *", "count": 20}))
    assert (preview["cron_expression"], preview["timezone"]) == (expression, "UTC")
    schedule = croniter(expression, T0)
    expected = [schedule.get_next(datetime) for _ in range(5)]
    assert [datetime.fromisoformat(t) for t in preview["next_fire_times"]] == expected
    assert preview["next_fire_times"][0].startswith("2026-11-02T09:00:00")  # Monday morning
    assert len(twenty["next_fire_times"]) == 20

    for expression, reason in (
        ("61 * * * *", "is not valid"),
        ("* * * * * *", "finer than one minute"),
        ("0 0 30 2 *", "never fires"),
    ):
        refused = admin.get("/api/cron-preview", query={"cron_expression": expression})
        assert (refused.status, refused.json["error"], refused.json["field"]) == (
            400,
            "invalid_cron_job",
            "cron_expression",
        )
        assert reason in refused.json["detail"]
    too_many = admin.get("/api/cron-preview", query={"cron_expression": "* * * * *", "count": 21})
    assert too_many.json["detail"][0]["loc"] == ["query", "count"]


def test_a_refused_cron_job_names_the_field_at_fault(
    admin: AdminClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOBU_WORKER_TIMEOUT_SECONDS", "310")
    admin_client.reset()
    body = {"name": "x", "cron_expression": "0 2 * * *", "handler_name": "sample"}
    cases = [
        ({"cron_expression": "61 * * * *"}, "cron_expression"),
        ({"handler_name": "nope"}, "handler_name"),
        ({"timeout_seconds": 306}, "timeout_seconds"),  # the worker's 310 s less its margin
        ({"handler_params": {"bad": "nul\x00"}}, "handler_params"),
    ]
    for change, field in cases:
        refused = admin.post("/api/crons", body=body | change)
        assert (refused.status, refused.json["error"], refused.json["field"]) == (
            400,
            "invalid_cron_job",
            field,
        )


def test_handlers_lists_what_a_cron_job_may_name(admin: AdminClient) -> None:
    handlers = ok(admin.get("/api/handlers"))
    names = [handler["name"] for handler in handlers]
    assert names == sorted(names)
    assert {"sample", "db_loader"} <= set(names)
    loader = next(handler for handler in handlers if handler["name"] == "db_loader")
    assert loader["params_schema"]["type"] == "object"
