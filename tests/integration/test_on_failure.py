"""`on_failure` follow-up runs through the real worker entry point, on PostgreSQL, MariaDB and
SQLite: made once when a run ends FAILED for good (retries spent, or an error retrying cannot help),
in the transaction that records the end, and queued after it; never on a retry or a success. A bad
on_failure link is refused at the edge (the enqueue API, a cron job, run now) naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from jobu.errors import NonRetryableError
from jobu.handlers import BaseHandler, HandlerParams, HandlerResult, handler
from tests.security.test_run_now import create_job, refused
from tests.support.admin_client import AdminClient
from tests.support.harness import Harness, work_message


@handler("test_onfail_failing")
class Failing(BaseHandler):
    async def execute(self, params: HandlerParams) -> HandlerResult:
        raise RuntimeError(f"disk full on attempt {self.context.retry_count}")


@handler("test_onfail_refusing")
class Refusing(BaseHandler):
    async def execute(self, params: HandlerParams) -> HandlerResult:
        raise NonRetryableError("table 'secrets' is not allowed")


ALERT = {"handler_name": "sample", "params": {"name": "alert", "value": 7}}


def children(harness: Harness, parent_id: int) -> list[Any]:
    return [run for run in harness.executions() if run.parent_execution_id == parent_id]


def test_the_on_failure_run_is_made_once_when_the_retries_are_spent(harness: Harness) -> None:
    run_id = harness.insert_event_run("test_onfail_failing", {"on_failure": ALERT}, max_retry=1)
    harness.invoke_worker([work_message(run_id, attempt=0)])
    parent = next(run for run in harness.executions() if run.id == run_id)
    assert (parent.status, parent.retry_count) == ("PENDING", 1)
    assert children(harness, run_id) == []  # a retry will happen: nothing follows yet
    harness.receive()  # the retry's message: delivered below by hand, twice

    last = work_message(run_id, attempt=1)
    harness.invoke_worker([last])
    harness.invoke_worker([last])  # SQS delivers it again: the run has ended, nothing more is made
    parent = next(run for run in harness.executions() if run.id == run_id)
    assert (parent.status, parent.error_message) == ("FAILED", "RuntimeError: disk full on attempt 1")
    (child,) = children(harness, run_id)
    assert (child.handler_name, child.status, child.param_source) == ("sample", "PENDING", "event")
    assert child.params == {
        "name": "alert",
        "value": 7,
        "failed_run": {
            "id": run_id,
            "handler_name": "test_onfail_failing",
            "status": "FAILED",
            "error_message": "RuntimeError: disk full on attempt 1",
        },
    }
    assert child.queued_at is not None  # queued after the commit
    assert harness.drain_queue() == 1
    assert next(run for run in harness.executions() if run.id == child.id).status == "SUCCESS"


def test_an_error_retrying_cannot_help_makes_the_on_failure_run_at_once(harness: Harness) -> None:
    run_id = harness.insert_event_run("test_onfail_refusing", {"on_failure": ALERT}, max_retry=3)
    message = work_message(run_id)
    harness.invoke_worker([message, message])  # the same message twice in one batch
    harness.invoke_worker([message])
    (child,) = children(harness, run_id)
    assert child.params["failed_run"]["status"] == "FAILED"
    assert child.params["failed_run"]["error_message"] == "NonRetryableError: table 'secrets' is not allowed"
    assert len(harness.executions()) == 2


def test_a_run_the_sweeper_times_out_for_good_makes_its_on_failure_run(harness: Harness) -> None:
    run_id = harness.insert_event_run("sample", {"name": "slow", "on_failure": ALERT})
    claimed_at = datetime.now(UTC)

    async def die_mid_run(store: Any) -> None:
        # what a worker does before running, and then nothing: its container died
        assert await store.runs.claim(
            run_id, attempt=0, now=claimed_at, deadline_at=claimed_at + timedelta(seconds=5)
        )

    harness.with_store(die_mid_run)
    assert harness.tick(claimed_at + timedelta(seconds=6))["sweep"]["abandoned"] == [run_id]
    harness.tick(claimed_at + timedelta(seconds=7))  # a second sweep finds nothing more to end
    (child,) = children(harness, run_id)
    assert child.params["failed_run"]["status"] == "TIMEOUT"
    assert child.params["failed_run"]["error_message"].startswith(
        "the worker stopped before the run finished"
    )
    assert harness.drain_queue() == 1  # queued by the sweep
    assert next(run for run in harness.executions() if run.id == child.id).status == "SUCCESS"


def test_a_run_that_succeeds_makes_no_on_failure_run(harness: Harness) -> None:
    run_id = harness.insert_event_run("sample", {"name": "ok", "on_failure": ALERT})
    harness.invoke_worker([work_message(run_id)])
    assert [run.status for run in harness.executions()] == ["SUCCESS"]


def test_a_bad_on_failure_link_is_refused_at_the_edge_naming_the_field(
    harness: Harness, admin: AdminClient
) -> None:
    for link, problem in (
        ({"handler_name": "os_system"}, 'on_failure names unknown handler "os_system"'),
        (
            {"handler_name": "pandas_preprocess", "params": {"database_url": "postgresql://10.0.0.8/x"}},
            "params for 'pandas_preprocess' refused",
        ),
        ("sample", "on_failure"),  # the schema or the link check says so
    ):
        response = admin.post("/api/runs", body={"handler_name": "sample1", "params": {"on_failure": link}})
        assert (response.status, response.json["field"]) == (400, "params"), response.body
        assert problem in response.json["detail"]
        create = admin.post(
            "/api/crons",
            body={
                "name": "nightly",
                "cron_expression": "0 2 * * *",
                "handler_name": "sample",
                "handler_params": {"on_failure": link},
            },
        )
        assert (create.status, create.json["field"]) == (400, "handler_params"), create.body
        assert problem in create.json["detail"]
    job_id = create_job(admin, "sample", {"name": "base"})
    deep: dict[str, Any] = {"handler_name": "sample", "params": {}}
    for _ in range(11):
        deep = {"handler_name": "sample", "params": {"on_failure": deep}}
    assert "on_failure chains more than 10 runs" in refused(harness, admin, job_id, {"on_failure": deep})
    assert harness.executions() == []
