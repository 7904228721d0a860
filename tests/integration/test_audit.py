"""The audit trail on PostgreSQL, MariaDB and SQLite: every change an operator makes writes one
operator_actions row in the change's own transaction, with the principal API Gateway names.

Requests go through the admin function's real entry point as API Gateway HTTP API (payload 2.0)
events carrying an IAM principal (tests.support.admin_client); the CLI through `jobu`'s own main on
a database; the transaction is proven by making the row's INSERT fail and finding the change undone.
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from jobu.cron_dispatch import run_tick
from jobu.errors import DuplicateError, TransactionConflictError
from jobu.models import ExecutionStatus
from jobu.operations import cron_jobs, rejected_records, runs
from jobu.operations.audit import Actor
from jobu.operations.cron_jobs import CronJobUpdate, parse_spec
from jobu.store import JobStore
from jobu.store.audit import AuditTrail
from jobu.work_queue import DryRunQueue
from tests.conftest import WORKER_TIMEOUTS
from tests.integration.test_admin_api import create, end_run, event_run, kafka_event
from tests.integration.test_cli_admin import Cli
from tests.integration.test_cli_admin import cli as jobu_cli  # noqa: F401  # a fixture: `jobu` on a database
from tests.support.admin_client import AdminClient, AdminResponse, api_event, invoke
from tests.support.harness import Harness

OPERATOR = "arn:aws:sts::123456789012:assumed-role/jobu-operators/alice"
ANOTHER = "arn:aws:iam::123456789012:user/bob"
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
# what a hostile operator (or a pasted value) may put in a field: markup, SQL, terminal controls
HOSTILE = "<script>alert(1)</script>'; DROP TABLE operator_actions; --\x1b]52;c;aGk=\x07\u202e"
# short enough to be shown whole in `jobu audit`'s table: an OSC 52 clipboard write, a bidi override
TERMINAL = "\x1b]52;c;aGk=\x07\u202eevil"


def signed(method: str, path: str, principal: str | None, **kwargs: Any) -> tuple[AdminResponse, str]:
    """The request as `principal` signed it (None: a request context without one); its answer and
    API Gateway's request id."""
    event = api_event(method, path, **kwargs)
    if principal is None:
        del event["requestContext"]["authorizer"]
    else:
        event["requestContext"]["authorizer"]["iam"]["userArn"] = principal
    return invoke(event), event["requestContext"]["requestId"]


def trail(admin: AdminClient, **query: Any) -> list[dict[str, Any]]:
    response = admin.get("/api/audit", query={"size": 100, **query})
    assert response.status == 200, response.body
    items: list[dict[str, Any]] = response.json["items"]
    return items


def test_each_change_through_the_api_is_one_row_naming_its_principal(
    harness: Harness, admin: AdminClient
) -> None:
    made, made_id = signed("POST", "/api/crons", OPERATOR, body={"name": "nightly", "cron_expression":
                           "0 2 * * *", "handler_name": "sample", "description": HOSTILE})  # fmt: skip
    assert made.status == 201, made.body
    job = made.json["id"]
    changed, changed_id = signed("PUT", f"/api/crons/{job}", ANOTHER, body={"max_retry": 3})
    assert changed.status == 200
    for path in ("toggle", "pause", "resume", "run"):
        assert signed("POST", f"/api/crons/{job}/{path}", OPERATOR)[0].status in (200, 201)
    (run_id,) = [run.id for run in harness.executions()]
    assert signed("POST", f"/api/jobs/{run_id}/cancel", OPERATOR)[0].status == 200
    assert signed("DELETE", f"/api/jobs/{run_id}", OPERATOR)[0].status == 204
    assert signed("DELETE", f"/api/crons/{job}", ANOTHER)[0].status == 204
    # reads and refusals change nothing: no row
    assert signed("GET", "/api/crons", OPERATOR)[0].status == 200
    assert signed("POST", f"/api/crons/{job}/toggle", OPERATOR)[0].status == 404

    rows = trail(admin)
    assert [row["operation"] for row in reversed(rows)] == [
        "cron_job.create",
        "cron_job.update",
        "cron_job.disable",
        "cron_job.pause",
        "cron_job.resume",
        "cron_job.run_now",
        "run.cancel",
        "run.delete",
        "cron_job.delete",
    ]
    created, updated = rows[-1], rows[-2]
    assert (created["principal"], created["request_id"]) == (OPERATOR, made_id)
    assert (created["target_kind"], created["target_id"], created["before_state"]) == (
        "cron_job",
        str(job),
        None,
    )
    assert created["after_state"]["description"] == HOSTILE  # kept as data, exactly
    assert (updated["principal"], updated["request_id"]) == (ANOTHER, changed_id)
    assert (updated["before_state"], updated["after_state"]) == ({"max_retry": 0}, {"max_retry": 3})
    cancelled = next(row for row in rows if row["operation"] == "run.cancel")
    assert (cancelled["target_kind"], cancelled["target_id"]) == ("run", str(run_id))
    assert cancelled["before_state"]["status"] == "PENDING"
    assert cancelled["after_state"]["status"] == "CANCELLED"
    deleted = rows[0]
    assert (deleted["principal"], deleted["after_state"]) == (ANOTHER, None)
    assert deleted["before_state"]["name"] == "nightly"

    assert [row["operation"] for row in trail(admin, principal=ANOTHER)] == [
        "cron_job.delete",
        "cron_job.update",
    ]
    assert len(trail(admin, operation="cron_job.pause")) == 1
    assert len(trail(admin, target_kind="run", target_id=str(run_id))) == 2
    assert trail(admin, from_date=(datetime.now(UTC) + timedelta(minutes=1)).isoformat()) == []
    assert len(trail(admin, to_date=(datetime.now(UTC) + timedelta(minutes=1)).isoformat())) == 9
    paged = admin.get("/api/audit", query={"size": 4, "page": 3}).json
    assert (paged["total"], paged["pages"], len(paged["items"])) == (9, 3, 1)
    assert admin.get("/api/audit", query={"from_date": "2026-12-02", "to_date": "2026-12-01"}).status == 400


def test_retries_replays_and_discards_are_recorded(harness: Harness, admin: AdminClient) -> None:
    async def failed(store: JobStore) -> list[int]:
        made = [(await store.runs.insert_events([event_run(offset)], now=T0))[0].id for offset in (1, 2, 3)]
        for run_id in made:
            await end_run(store, run_id, ExecutionStatus.FAILED, at=T0)
        return made

    first, *rest = harness.with_store(failed)
    assert signed("POST", f"/api/jobs/{first}/retry", OPERATOR)[0].status == 200
    bulk = signed("POST", "/api/jobs/bulk-retry", OPERATOR, body={"dry_run": False, "status": "FAILED"})[0]
    assert sorted(bulk.json["ids"]) == rest
    assert signed("POST", "/api/jobs/bulk-retry", OPERATOR, body={"status": "FAILED"})[0].status == 200  # dry
    harness.invoke_queue(kafka_event(7, {"handler_name": "nope", "params": {}}))
    harness.invoke_queue(kafka_event(8, {"handler_name": "nope", "params": {}}))
    replayable, discardable = sorted(item["id"] for item in admin.get("/api/rejected").json["items"])
    assert signed("POST", f"/api/rejected/{replayable}/replay", OPERATOR)[0].json["outcome"] == "rejected"
    assert signed("DELETE", f"/api/rejected/{discardable}", OPERATOR)[0].status == 204

    discarded, replayed, bulk_row, retried = trail(admin)
    assert (retried["operation"], retried["target_id"]) == ("run.retry", str(first))
    assert (retried["before_state"], retried["after_state"]) == (
        {"status": "FAILED", "retry_count": 0},
        {"status": "PENDING", "retry_count": 1},
    )
    assert (bulk_row["operation"], bulk_row["target_kind"], bulk_row["target_id"]) == (
        "run.bulk_retry",
        "runs",
        None,
    )
    assert bulk_row["after_state"]["retried"] == rest
    assert bulk_row["after_state"]["filter"]["status"] == "FAILED"
    assert replayed["after_state"] == {"outcome": "rejected", "reason": "unknown handler 'nope'"}
    assert replayed["before_state"]["record_key"] == "jobu-events:0:7"
    assert (discarded["operation"], discarded["target_id"]) == ("rejected_record.discard", str(discardable))
    assert discarded["before_state"]["record_key"] == "jobu-events:0:8"


def test_a_request_without_a_principal_is_recorded_as_unknown(admin: AdminClient) -> None:
    response, request_id = signed("POST", "/api/crons", None, body={"name": "anon", "cron_expression":
                                  "0 2 * * *", "handler_name": "sample"})  # fmt: skip
    assert response.status == 201, response.body
    (row,) = trail(admin)
    assert (row["principal"], row["request_id"]) == ("unknown", request_id)


def test_a_refused_change_writes_no_row(admin: AdminClient) -> None:
    create(admin, "taken")
    other = create(admin, "other")
    assert signed("POST", "/api/crons", OPERATOR, body={"name": "taken", "cron_expression": "0 2 * * *",
                  "handler_name": "sample"})[0].status == 409  # fmt: skip
    # refused inside its transaction (the name is taken when the row is written): rolled back whole
    assert signed("PUT", f"/api/crons/{other['id']}", OPERATOR, body={"name": "taken"})[0].status == 409
    assert signed("POST", f"/api/crons/{other['id']}/resume", OPERATOR)[0].status == 400  # not paused
    assert [row["operation"] for row in trail(admin)] == ["cron_job.create", "cron_job.create"]


@pytest.fixture
def failing_audit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The audit row's INSERT fails, after the change's own statements ran in the same transaction."""

    async def refuse(self: AuditTrail, conn: Any, action: Any, *, now: datetime) -> None:
        raise DuplicateError("the audit row could not be written")

    monkeypatch.setattr(AuditTrail, "insert", refuse)


ACTOR = Actor("test:transaction")


async def test_a_change_whose_row_fails_is_undone(store: JobStore, failing_audit: None) -> None:
    spec = parse_spec({"name": "kept", "cron_expression": "0 2 * * *", "handler_name": "sample"})
    job = await store.cron_jobs.insert(spec, next_run_at=None, now=T0)
    (run,) = await store.runs.insert_events([event_run(1)], now=T0)
    await end_run(store, run.id, ExecutionStatus.FAILED, at=T0)
    with pytest.raises(DuplicateError):
        await cron_jobs.create(store, parse_spec({**spec.model_dump(), "name": "new"}),
                               known_handlers={"sample"}, worker_timeouts=WORKER_TIMEOUTS, now=T0,
                               actor=ACTOR)  # fmt: skip
    with pytest.raises(DuplicateError):
        await cron_jobs.update(store, job.id, CronJobUpdate(max_retry=5), known_handlers={"sample"},
                               worker_timeouts=WORKER_TIMEOUTS, now=T0, actor=ACTOR)  # fmt: skip
    with pytest.raises(DuplicateError):
        await cron_jobs.delete(store, job.id, now=T0, actor=ACTOR)
    with pytest.raises(DuplicateError):
        await runs.retry(store, DryRunQueue(), run.id, now=T0, actor=ACTOR)
    with pytest.raises(DuplicateError):
        await runs.delete(store, run.id, now=T0, actor=ACTOR)

    assert await store.cron_jobs.get_by_name("new") is None
    kept = await store.cron_jobs.get(job.id)
    assert kept is not None
    assert kept.max_retry == 0
    still = await store.runs.get(run.id)
    assert still is not None
    assert (still.status, still.retry_count) == (ExecutionStatus.FAILED, 0)
    assert await store.audit.count() == 0


async def test_direct_calls_record_the_actor_and_the_tick_keeps_the_trail_its_own_time(
    store: JobStore,
) -> None:
    spec = parse_spec({"name": "old", "cron_expression": "0 2 * * *", "handler_name": "sample"})
    job = await cron_jobs.create(store, spec, known_handlers={"sample"}, worker_timeouts=WORKER_TIMEOUTS,
                                 now=T0 - timedelta(days=400), actor=ACTOR)  # fmt: skip
    await cron_jobs.set_enabled(store, "old", enabled=False, now=T0 - timedelta(days=10), actor=ACTOR)
    (rejected_run,) = await store.runs.insert_events([event_run(1)], now=T0)
    await end_run(store, rejected_run.id, ExecutionStatus.SUCCESS, at=T0)
    await store.rejected_records.insert(
        [{"source_topic": "t", "source_partition": 0, "source_offset": 1, "record_key": "t:0:1",
          "raw_value": "x", "raw_encoding": "utf-8", "reason": HOSTILE}], now=T0)  # fmt: skip
    (record,) = await store.rejected_records.list_recent()
    await rejected_records.discard(store, record.id, now=T0, actor=ACTOR)
    assert [a.operation for a in await store.audit.page(limit=10, offset=0)] == [
        "rejected_record.discard",
        "cron_job.disable",
        "cron_job.create",
    ]
    (discarded, *_) = await store.audit.page(limit=10, offset=0)
    assert discarded.before_state["reason"] == HOSTILE

    from jobu.config import RetryPolicy, SweepPolicy

    report = await run_tick(
        store,
        DryRunQueue(),
        tick_time=T0,
        now=T0,
        policy=SweepPolicy(grace=timedelta(minutes=1), stuck_after=timedelta(minutes=15)),
        retry_policy=RetryPolicy(base=timedelta(seconds=10), max=timedelta(seconds=900)),
        retention=timedelta(days=1000),
        audit_retention=timedelta(days=365),
    )
    assert report.deleted_audit_rows == 1  # the create, 400 days ago; the runs' retention left it alone
    remaining = await store.audit.page(limit=10, offset=0)
    assert [a.operation for a in remaining] == ["rejected_record.discard", "cron_job.disable"]
    assert all(a.principal == "test:transaction" for a in remaining)
    assert remaining[1].target_id == str(job.id)


def test_the_cli_on_a_database_records_the_os_user(jobu_cli: Cli) -> None:  # noqa: F811  # the fixture imported above
    cli = jobu_cli
    status, _, err = cli("cron", "add", "--name", "by-cli", "--cron", "0 2 * * *", "--handler", "sample")
    assert status == 0, err
    assert cli("cron", "disable", "by-cli")[0] == 0
    rows = cli.json("audit")
    assert [(row["operation"], row["principal"]) for row in rows] == [
        ("cron_job.disable", f"os:{getpass.getuser()}"),
        ("cron_job.create", f"os:{getpass.getuser()}"),
    ]
    assert cli.json("audit", "--operation", "cron_job.create")[0]["target_id"] == str(rows[0]["target_id"])
    status, out, _ = cli("audit")
    assert status == 0
    assert "is_enabled: true -> false" in out
    assert "2 actions (page 1 of 1)" in out


def test_the_cli_escapes_stored_control_characters(jobu_cli: Cli) -> None:  # noqa: F811  # the fixture imported above
    cli = jobu_cli
    status, _, err = cli("cron", "add", "--name", "hostile", "--cron", "0 2 * * *", "--handler", "sample")
    assert status == 0, err
    assert cli("cron", "update", "hostile", "--description", TERMINAL)[0] == 0
    status, out, _ = cli("audit")
    assert "\x1b" not in out
    assert "\u202e" not in out
    assert "description:  -> \\x1b]52;c;aGk=\\x07\\u202eevil" in out
    assert cli.json("audit")[0]["after_state"]["description"] == TERMINAL  # --json stays exact


async def test_an_action_rolled_back_by_a_deadlock_runs_again_whole(
    store: JobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database ends a deadlock by rolling one transaction back: PostgreSQL and MariaDB run the
    action again from the start (the change, then its row), once in the end; SQLite has one writer
    at a time and no deadlock, so the error is the caller's and nothing changed."""
    spec = parse_spec({"name": "contended", "cron_expression": "0 2 * * *", "handler_name": "sample"})
    job = await store.cron_jobs.insert(spec, next_run_at=None, now=T0)
    original, calls = AuditTrail.insert, []

    async def conflicting_once(self: AuditTrail, conn: Any, action: Any, *, now: datetime) -> None:
        calls.append(action.operation)
        if len(calls) == 1:
            raise TransactionConflictError("deadlock detected (the database rolled this transaction back)")
        await original(self, conn, action, now=now)

    monkeypatch.setattr(AuditTrail, "insert", conflicting_once)
    update = CronJobUpdate(max_retry=4)
    if store.backend == "sqlite":
        with pytest.raises(TransactionConflictError):
            await cron_jobs.update(store, job.id, update, known_handlers={"sample"},
                                   worker_timeouts=WORKER_TIMEOUTS, now=T0, actor=ACTOR)  # fmt: skip
        expected_retry, expected_rows = 0, 0
    else:
        await cron_jobs.update(store, job.id, update, known_handlers={"sample"},
                               worker_timeouts=WORKER_TIMEOUTS, now=T0, actor=ACTOR)  # fmt: skip
        expected_retry, expected_rows = 4, 1
    stored = await store.cron_jobs.get(job.id)
    assert stored is not None
    assert stored.max_retry == expected_retry
    rows = await store.audit.page(limit=10, offset=0)
    assert len(rows) == expected_rows
    assert [(row.before_state, row.after_state) for row in rows] == [({"max_retry": 0}, {"max_retry": 4})][
        :expected_rows
    ]
