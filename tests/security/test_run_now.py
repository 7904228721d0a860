"""Issue 19, finding 6: "run now" overrides skipped the handler's params schema and the ten-link
`on_success` limit. A `database_url` override was stored and queued (the worker then failed the
run); a 25-link chain ran 25 runs. Now the merged params are checked exactly as a cron job's are
(jobu.operations.cron_jobs.check_params, the same function), before anything is stored: the
answer is a 400 naming the problem, and no run exists and no message is queued. Through the admin
function's entry point (API Gateway HTTP API events), on every backend.
"""

from __future__ import annotations

from typing import Any

from tests.support.admin_client import AdminClient
from tests.support.harness import Harness


def create_job(admin: AdminClient, handler_name: str, params: dict[str, Any]) -> int:
    body = {"name": "nightly", "cron_expression": "0 2 * * *", "handler_name": handler_name}
    response = admin.post("/api/crons", body={**body, "handler_params": params})
    assert response.status == 201, response.body
    job_id: int = response.json["id"]
    return job_id


def chain(links: int) -> dict[str, Any] | None:
    follow_up = None
    for _ in range(links):
        follow_up = {
            "handler_name": "sample",
            "params": {} if follow_up is None else {"on_success": follow_up},
        }
    return follow_up


def refused(harness: Harness, admin: AdminClient, job_id: int, overrides: dict[str, Any]) -> str:
    response = admin.post(f"/api/crons/{job_id}/run", body={"params": overrides})
    assert (response.status, response.json["error"], response.json.get("field")) == (
        400,
        "invalid_cron_job",
        "params",
    ), response.body
    assert harness.executions() == []
    assert harness.receive() == []
    detail: str = response.json["detail"]
    return detail


def test_an_override_the_handlers_schema_refuses_is_not_stored(harness: Harness, admin: AdminClient) -> None:
    job_id = create_job(admin, "db_loader", {"input_path": "in.parquet", "table": "sales"})

    detail = refused(harness, admin, job_id, {"database_url": "postgresql://attacker.example/x"})

    assert "params for 'db_loader' refused" in detail
    assert "database_url" in detail


def test_a_sample9_url_override_is_not_stored(harness: Harness, admin: AdminClient) -> None:
    job_id = create_job(admin, "sample9", {})

    assert "databases[0] must match pattern" in refused(
        harness, admin, job_id, {"databases": ["postgresql://postgres@10.0.0.8:5432/x"]}
    )
    assert "must not contain" in refused(harness, admin, job_id, {"postgres_url": "postgresql://10.0.0.8/x"})


def test_an_on_success_chain_longer_than_ten_links_is_not_stored(
    harness: Harness, admin: AdminClient
) -> None:
    job_id = create_job(admin, "sample", {"name": "base"})

    assert "on_success chains more than 10 runs" in refused(harness, admin, job_id, {"on_success": chain(25)})
    assert 'on_success names unknown handler "os_system"' in refused(
        harness, admin, job_id, {"on_success": {"handler_name": "os_system", "params": {}}}
    )


def test_an_override_is_checked_as_merged_with_the_jobs_params(harness: Harness, admin: AdminClient) -> None:
    """What runs is the job's params with the override over them: the fields the schema requires
    may come from the job, and an override that breaks one is refused."""
    job_id = create_job(admin, "db_loader", {"input_path": "in.parquet", "table": "sales"})

    assert "params.table must be string" in refused(harness, admin, job_id, {"table": 7})
    accepted = admin.post(f"/api/crons/{job_id}/run", body={"params": {"mode": "replace"}})
    assert accepted.status == 201, accepted.body
    assert accepted.json["run"]["params"] == {"input_path": "in.parquet", "table": "sales", "mode": "replace"}


def test_overrides_a_create_would_accept_still_run(harness: Harness, admin: AdminClient) -> None:
    """The control: ten links, and params the schema takes, are stored and queued."""
    job_id = create_job(admin, "sample", {"name": "base"})

    started = admin.post(f"/api/crons/{job_id}/run", body={"params": {"on_success": chain(10)}})

    assert started.status == 201, started.body
    assert started.json["queued"] is True
    assert harness.drain_queue() == 11
    assert [run.status for run in harness.executions()] == ["SUCCESS"] * 11
