"""Bulk cancel (`POST /api/jobs/bulk-cancel`) through the admin function's real entry point on
PostgreSQL, MariaDB and SQLite: the dry run counts and changes nothing; the cancel takes the
waiting and pending runs the filters match (and asks running ones to stop), as the single cancel
does, in one audited transaction; a queue_one job's waiting run starts once its active one is
cancelled; bad filters are refused naming the field; `jobu runs bulk-cancel`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from jobu.models import ExecutionStatus
from tests.integration.test_admin_api import create, queued_messages
from tests.integration.test_audit import OPERATOR, signed, trail
from tests.integration.test_cli_admin import Cli
from tests.integration.test_cli_admin import cli as jobu_cli  # noqa: F401  # a fixture: `jobu` on a database
from tests.support.admin_client import AdminClient
from tests.support.harness import Harness, work_message


def enqueue(admin: AdminClient, params: dict[str, Any], **fields: Any) -> int:
    answer = admin.post("/api/runs", body={"handler_name": "sample", "params": params, **fields})
    assert answer.status == 201, answer.json
    run_id: int = answer.json["run"]["id"]
    return run_id


def statuses(harness: Harness) -> dict[int, str]:
    return {run.id: run.status.value for run in harness.executions()}


def test_the_dry_run_counts_then_the_cancel_takes_what_the_filters_match(
    harness: Harness, admin: AdminClient
) -> None:
    acme = [enqueue(admin, {"customer": "acme"}, tags=["billing"], delay_seconds=3600) for _ in range(3)]
    globex = enqueue(admin, {"customer": "globex"}, tags=["billing"], delay_seconds=3600)
    untagged = enqueue(admin, {"customer": "acme"}, delay_seconds=3600)
    done = enqueue(admin, {"customer": "acme"}, tags=["billing"])
    assert harness.drain_queue() == 1  # `done` runs; the delayed ones may not start yet
    running = acme[0]

    async def claim(store: Any) -> None:
        now = datetime.now(UTC)
        assert await store.runs.claim(running, attempt=0, now=now, deadline_at=now + timedelta(minutes=5))

    harness.with_store(claim)
    body = {"params": {"customer": "acme"}, "tags": ["billing"]}

    dry = signed("POST", "/api/jobs/bulk-cancel", OPERATOR, body=body)[0]  # dry_run is the default
    assert dry.status == 200, dry.json
    assert (dry.json["dry_run"], dry.json["matched"], dry.json["ids"]) == (
        True,
        3,
        sorted(acme, reverse=True),
    )
    limited = admin.post("/api/jobs/bulk-cancel", body={**body, "limit": 2}).json
    assert (limited["matched"], limited["ids"]) == (3, sorted(acme, reverse=True)[:2])
    assert statuses(harness)[acme[1]] == "PENDING"
    assert trail(admin, operation="run.bulk_cancel") == []  # a dry run changes nothing, records nothing

    answer = signed("POST", "/api/jobs/bulk-cancel", OPERATOR, body={**body, "dry_run": False})[0]
    assert answer.status == 200, answer.json
    assert (answer.json["matched"], answer.json["ids"]) == (3, acme)
    assert (answer.json["cancelled"], answer.json["requested"]) == (acme[1:], [running])
    after = statuses(harness)
    assert [after[i] for i in acme] == ["RUNNING", "CANCELLED", "CANCELLED"]
    assert (after[globex], after[untagged], after[done]) == ("PENDING", "PENDING", "SUCCESS")

    async def requested(store: Any) -> bool:
        run = await store.runs.get(running)
        return bool(await store.runs.cancel_requested(running, attempt=0, started_at=run.started_at))

    assert harness.with_store(requested)  # its worker stops the handler, as a single cancel asks
    # a cancelled run's message, delivered late, runs nothing
    harness.invoke_worker([work_message(acme[1])])
    assert statuses(harness)[acme[1]] == "CANCELLED"

    (row,) = trail(admin, operation="run.bulk_cancel")
    assert (row["principal"], row["target_kind"], row["target_id"]) == (OPERATOR, "runs", None)
    assert row["after_state"] == {
        "filter": {"params": {"customer": "acme"}, "tags": ["billing"], "limit": 100},
        "matched": 3,
        "cancelled": acme[1:],
        "requested": [running],
    }
    # again, PENDING only: the running one is not, the others are cancelled already
    again = admin.post("/api/jobs/bulk-cancel", body={**body, "status": "PENDING", "dry_run": False}).json
    assert (again["matched"], again["ids"]) == (0, [])


def test_a_queue_one_jobs_waiting_run_starts_when_its_active_run_is_cancelled(
    harness: Harness, admin: AdminClient
) -> None:
    job = create(admin, "one-at-a-time", overlap_policy="queue_one")
    first = admin.post(f"/api/crons/{job['id']}/run").json["run"]["id"]
    waiting = admin.post(f"/api/crons/{job['id']}/run").json["run"]["id"]
    assert statuses(harness) == {first: "PENDING", waiting: "WAITING"}
    answer = admin.post(
        "/api/jobs/bulk-cancel", body={"cron_id": job["id"], "status": "PENDING", "dry_run": False}
    ).json
    assert answer["cancelled"] == [first]
    assert statuses(harness) == {first: "CANCELLED", waiting: "PENDING"}
    assert waiting in [m["execution_id"] for m in queued_messages(harness)]  # queued once promoted
    harness.drain_queue()  # the cancelled run's message does nothing
    assert statuses(harness) == {first: "CANCELLED", waiting: "SUCCESS"}


def test_a_batchs_runs_are_cancelled_by_its_id_and_its_callback_sent(
    harness: Harness, admin: AdminClient
) -> None:
    runs = [
        {"handler_name": "sample", "params": {"name": f"child {n}"}, "delay_seconds": 3600} for n in range(3)
    ]
    on_complete = {"handler_name": "sample", "params": {"name": "report"}}
    created = admin.post("/api/batches", body={"runs": runs, "on_complete": on_complete})
    assert created.status == 201, created.json
    batch_id, children = created.json["batch"]["id"], created.json["run_ids"]
    other = enqueue(admin, {"name": "not in the batch"}, delay_seconds=3600)
    dry = admin.post("/api/jobs/bulk-cancel", body={"batch_id": batch_id}).json
    assert (dry["matched"], sorted(dry["ids"])) == (3, children)
    done = admin.post("/api/jobs/bulk-cancel", body={"batch_id": batch_id, "dry_run": False}).json
    assert done["cancelled"] == children
    batch = admin.get(f"/api/batches/{batch_id}").json
    assert (batch["cancelled"], batch["ended"], batch["total"]) == (3, 3, 3)
    callback = batch["callback_run_id"]
    assert callback is not None
    assert admin.get(f"/api/jobs/{callback}").json["queued_at"] is not None  # sent now, not by the sweeper
    assert statuses(harness)[other] == "PENDING"
    assert harness.drain_queue() == 1
    assert statuses(harness)[callback] == "SUCCESS"
    refused = admin.post("/api/jobs/bulk-cancel", body={"batch_id": 0})
    assert (refused.status, refused.json["detail"][0]["loc"]) == (400, ["body", "batch_id"])


def test_a_bad_filter_is_refused_naming_the_field(harness: Harness, admin: AdminClient) -> None:
    for body, loc in [
        ({"status": "SUCCESS", "dry_run": False}, None),  # a status no run is cancelled from: nothing
        ({"limit": 1001}, ["body", "limit"]),
        ({"params": {"a-b": "1"}}, ["body", "params", "a-b", "[key]"]),
        ({"tags": ["x" * 65]}, ["body", "tags", 0]),
        ({"handler_name": "sample", "nope": 1}, ["body", "nope"]),
        ({"from_date": "2026-12-02T00:00:00Z", "to_date": "2026-12-01T00:00:00Z"}, ["body"]),
    ]:
        answer = admin.post("/api/jobs/bulk-cancel", body=body)
        if loc is None:
            assert (answer.status, answer.json["matched"], answer.json["ids"]) == (200, 0, []), answer.json
            continue
        assert answer.status == 400, (body, answer.json)
        assert answer.json["detail"][0]["loc"] == loc, (body, answer.json)
    # only the request that was not refused is recorded (as a bulk retry is, also when it took nothing)
    (row,) = trail(admin)
    assert (row["operation"], row["after_state"]["matched"]) == ("run.bulk_cancel", 0)


def test_jobu_runs_bulk_cancel_shows_the_dry_run_then_asks(jobu_cli: Cli) -> None:  # noqa: F811  # the fixture imported above
    cli = jobu_cli

    async def enqueue_two(store: Any) -> list[int]:
        from jobu.handler_manifest import known_handler_names
        from jobu.operations.enqueue import enqueue_one
        from jobu.work_queue import WorkQueue
        from tests.support.principals import TEST_ACTOR

        queue = WorkQueue(sqs_client=cli.sqs, queue_url=cli.work_queue_url)
        made = []
        for customer in ("acme", "globex"):
            request = {"handler_name": "sample", "params": {"customer": customer}}
            answer = await enqueue_one(
                store,
                queue,
                request,
                known_handlers=known_handler_names(),
                now=datetime.now(UTC),
                actor=TEST_ACTOR,
            )
            made.append(answer.run.id)
        return made

    acme, globex = cli.with_store(enqueue_two)
    status, out, _ = cli("runs", "bulk-cancel", "--param", "customer=acme", "--dry-run")
    assert (status, out) == (
        0,
        f"1 WAITING, PENDING or RUNNING run(s) match; a cancel takes all of them:\n  {acme}\n",
    )
    # not asked (stdin is not a terminal here) and no --yes: nothing is cancelled
    status, out, err = cli("runs", "bulk-cancel", "--param", "customer=acme")
    assert status == 2
    assert (
        err
        == "jobu: nothing cancelled: pass --yes to cancel without being asked (or --dry-run to only look)\n"
    )
    assert cli.json("runs", "show", str(acme))["status"] == ExecutionStatus.PENDING.value
    done = cli.json("runs", "bulk-cancel", "--param", "customer=acme", "--yes")
    assert (done["dry_run"], done["ids"], done["cancelled"]) == (False, [acme], [acme])
    status, out, _ = cli("runs", "bulk-cancel", "--handler", "sample", "--yes")
    assert (status, out.splitlines()[-1]) == (
        0,
        f"cancelled {globex}: 1 run(s) will not start; 0 running asked to stop",
    )
    assert cli.json("runs", "show", str(globex))["status"] == "CANCELLED"
