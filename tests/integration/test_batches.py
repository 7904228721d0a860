"""Batches (POST /api/batches and the rest of /api/batches) through the admin function's real entry
point and the real worker entry point, on PostgreSQL, MariaDB and SQLite: the callback runs are made
exactly once, when the last child ended, whichever way it ended (the worker, a retry, a cancel, the
sweeper's expiry and timeout), under duplicate deliveries and concurrent ends."""

from __future__ import annotations

import asyncio
import getpass
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import time_machine

from jobu.config import RetryPolicy, SweepPolicy
from jobu.cron_dispatch import run_tick
from jobu.event_dispatch import EVENT_DEFAULT_TIMEOUT_SECONDS
from jobu.handler_manifest import known_handler_names
from jobu.models import Execution, ExecutionStatus, NewExecution
from jobu.operations import batches
from jobu.store import JobStore, open_store
from jobu.work_queue import DryRunQueue, WorkQueue
from tests.integration.test_audit import OPERATOR, signed, trail
from tests.integration.test_cli_admin import Cli
from tests.integration.test_cli_admin import cli as jobu_cli  # noqa: F401  # a fixture: `jobu` on a database
from tests.support.admin_client import AdminClient
from tests.support.harness import Harness, work_message
from tests.support.harness import run as run_async
from tests.support.principals import TEST_ACTOR

CALLBACK = {"handler_name": "sample", "params": {"note": "all done"}}


def good(name: str) -> dict[str, Any]:
    return {"handler_name": "sample1", "params": {"name": name}}


def create(admin: AdminClient, runs: list[Any], **callbacks: Any) -> dict[str, Any]:
    response = admin.post("/api/batches", body={"runs": runs, **callbacks})
    assert response.status == 201, response.body
    created: dict[str, Any] = response.json
    return created


def batch(admin: AdminClient, batch_id: int) -> dict[str, Any]:
    response = admin.get(f"/api/batches/{batch_id}")
    assert response.status == 200, response.body
    found: dict[str, Any] = response.json
    return found


def callbacks(harness: Harness, batch_id: int) -> list[Execution]:
    """The runs whose params carry this batch: its callbacks."""
    return [
        run
        for run in harness.executions()
        if isinstance(run.params.get("batch"), dict) and run.params["batch"]["id"] == batch_id
    ]


def deliver(harness: Harness, *run_ids: int, attempt: int = 0) -> None:
    """The runs' messages, as SQS may deliver them again (the worker's claim lets one through)."""
    response = harness.invoke_worker([work_message(run_id, attempt) for run_id in run_ids])
    assert response["batchItemFailures"] == []


def test_a_batch_runs_and_makes_each_callback_once(harness: Harness, admin: AdminClient) -> None:
    created = create(admin, [good("a"), good("b"), good("c")], on_success=CALLBACK, on_complete=CALLBACK)
    batch_id, run_ids = created["batch"]["id"], created["run_ids"]
    assert len(run_ids) == 3
    assert (created["batch"]["status"], created["batch"]["total"], created["batch"]["ended"]) == (
        "RUNNING",
        3,
        0,
    )
    listed = admin.get("/api/jobs", query={"batch_id": batch_id}).json
    assert sorted(item["id"] for item in listed["items"]) == run_ids
    assert {item["param_source"] for item in listed["items"]} == {"api"}
    deliver(harness, run_ids[0], run_ids[1])
    assert batch(admin, batch_id)["status"] == "RUNNING"
    assert callbacks(harness, batch_id) == []  # never before the last child ended
    # the last child's message twice in one delivery, and the first two's again
    deliver(harness, run_ids[2], run_ids[2], run_ids[0], run_ids[1])
    found = batch(admin, batch_id)
    assert (found["status"], found["succeeded"], found["ended"], found["counts"]) == (
        "SUCCESS",
        3,
        3,
        {"SUCCESS": 3},
    )
    made = callbacks(harness, batch_id)
    assert sorted(run.id for run in made) == sorted([found["success_run_id"], found["complete_run_id"]])
    assert found["callback_run_id"] == found["success_run_id"]
    for run in made:
        assert run.params == {
            "note": "all done",
            "batch": {
                "id": batch_id,
                "status": "SUCCESS",
                "total": 3,
                "succeeded": 3,
                "failed": 0,
                "timed_out": 0,
                "cancelled": 0,
                "expired": 0,
            },
        }
        assert run.batch_id is None  # a callback is not one of the batch's children
        assert run.parent_execution_id == run_ids[2]  # made by the last child's end
        assert run.queued_at is not None
    harness.drain_queue()  # the callbacks' messages; the children's find them ended
    assert {run.status for run in callbacks(harness, batch_id)} == {ExecutionStatus.SUCCESS}
    deliver(harness, *run_ids)  # late duplicates change nothing
    assert len(callbacks(harness, batch_id)) == 2
    assert batch(admin, batch_id)["succeeded"] == 3


def test_a_failed_child_makes_on_complete_and_not_on_success(harness: Harness, admin: AdminClient) -> None:
    failing = {"handler_name": "sample2", "params": {"id": 999}}  # no such item: it fails, no retry left
    created = create(admin, [good("a"), failing, good("b")], on_success=CALLBACK, on_complete=CALLBACK)
    batch_id = created["batch"]["id"]
    harness.drain_queue()
    found = batch(admin, batch_id)
    assert (found["status"], found["succeeded"], found["failed"]) == ("FAILED", 2, 1)
    assert found["counts"] == {"SUCCESS": 2, "FAILED": 1}
    assert found["success_run_id"] is None
    (made,) = callbacks(harness, batch_id)
    assert made.id == found["complete_run_id"] == found["callback_run_id"]
    assert made.params["batch"]["failed"] == 1
    assert made.status is ExecutionStatus.SUCCESS


def test_an_operator_retry_of_a_failed_child_counts_its_last_end_only(
    harness: Harness, admin: AdminClient
) -> None:
    # item 1 does not exist until the second child made it: the first fails, then succeeds on retry
    reads = {"handler_name": "sample2", "params": {"id": 1}}
    created = create(admin, [reads, good("b")], on_success=CALLBACK)
    batch_id, (reader, writer) = created["batch"]["id"], created["run_ids"]
    deliver(harness, reader)
    assert (batch(admin, batch_id)["failed"], batch(admin, batch_id)["ended"]) == (1, 1)
    assert admin.post(f"/api/jobs/{reader}/retry").status == 200
    assert (batch(admin, batch_id)["failed"], batch(admin, batch_id)["ended"]) == (0, 0)
    deliver(harness, writer)
    assert batch(admin, batch_id)["status"] == "RUNNING"
    deliver(harness, reader, reader, attempt=1)
    found = batch(admin, batch_id)
    assert (found["status"], found["succeeded"], found["failed"]) == ("SUCCESS", 2, 0)
    assert [run.id for run in callbacks(harness, batch_id)] == [found["success_run_id"]]


def test_a_child_the_worker_retries_is_counted_at_its_last_attempt(
    harness: Harness, admin: AdminClient
) -> None:
    now = datetime.now(UTC)

    async def make(store: JobStore) -> tuple[int, list[int]]:
        runs = [_child("sample2", {"id": 1}, max_retry=2), _child("sample1", {"name": "b"})]

        async def insert(conn: Any) -> tuple[int, list[int]]:
            made, children = await store.batches.create(
                runs, on_success=None, on_complete=_link(), created_by="test", now=now, conn=conn
            )
            return made.id, [run.id for run in children]

        return await store.connector.run(insert, transaction=True)

    batch_id, (reader, writer) = harness.with_store(make)
    deliver(harness, reader)  # fails, retried: not an end
    assert (batch(admin, batch_id)["ended"], batch(admin, batch_id)["counts"]) == (0, {"PENDING": 2})
    deliver(harness, writer)
    deliver(harness, reader, attempt=1)
    found = batch(admin, batch_id)
    assert (found["status"], found["succeeded"], found["ended"]) == ("SUCCESS", 2, 2)
    (made,) = callbacks(harness, batch_id)
    assert made.id == found["complete_run_id"]


def test_cancelling_a_batch_cancels_its_unstarted_children_and_ends_it(
    harness: Harness, admin: AdminClient
) -> None:
    created = create(
        admin, [good("a"), good("b"), good("c"), good("d")], on_success=CALLBACK, on_complete=CALLBACK
    )
    batch_id, run_ids = created["batch"]["id"], created["run_ids"]
    deliver(harness, run_ids[0])

    async def claim(store: JobStore) -> None:  # a worker holds the second child
        now = datetime.now(UTC)
        assert await store.runs.claim(run_ids[1], attempt=0, now=now, deadline_at=now + timedelta(hours=1))

    harness.with_store(claim)
    answer, _ = signed("POST", f"/api/batches/{batch_id}/cancel", OPERATOR)
    assert answer.status == 200, answer.body
    assert answer.json["cancelled"] == 2
    found = answer.json["batch"]
    assert (found["status"], found["succeeded"], found["cancelled"], found["ended"]) == ("RUNNING", 1, 2, 3)
    assert found["counts"] == {"SUCCESS": 1, "RUNNING": 1, "CANCELLED": 2}
    assert callbacks(harness, batch_id) == []  # its running child has not ended
    (row,) = trail(admin, operation="batch.cancel")
    assert (row["principal"], row["target_id"], row["after_state"]) == (
        OPERATOR,
        str(batch_id),
        {"cancelled": 2},
    )
    again = admin.post(f"/api/batches/{batch_id}/cancel")
    assert (again.status, again.json["cancelled"]) == (200, 0)
    deliver(harness, run_ids[1], attempt=0)  # its message: the run is someone else's, nothing happens

    async def finish(store: JobStore) -> None:
        ended = await store.runs.finish(
            run_ids[1],
            attempt=0,
            status=ExecutionStatus.SUCCESS,
            result={},
            error_message=None,
            now=datetime.now(UTC),
            batch_id=batch_id,
        )
        assert len(ended.callbacks) == 1

    harness.with_store(finish)
    found = batch(admin, batch_id)
    assert (found["status"], found["succeeded"], found["cancelled"]) == ("CANCELLED", 2, 2)
    (made,) = callbacks(harness, batch_id)
    assert (made.id, found["success_run_id"]) == (found["complete_run_id"], None)
    assert made.params["batch"]["status"] == "CANCELLED"
    assert admin.post("/api/batches/999999/cancel").status == 404


def test_cancelling_a_batch_frees_its_handler_s_limits_for_what_waits(
    harness: Harness, admin: AdminClient
) -> None:
    assert admin.put("/api/limits/sample1", body={"concurrency": 1}).status == 200
    created = create(admin, [good("a"), good("b")], on_complete=CALLBACK)
    batch_id = created["batch"]["id"]
    outside = admin.post("/api/runs", body=good("outside")).json["run"]  # waits behind the batch's first
    assert [batch(admin, batch_id)["counts"], outside["status"]] == [{"PENDING": 1, "WAITING": 1}, "WAITING"]
    assert admin.post(f"/api/batches/{batch_id}/cancel").json["cancelled"] == 2
    let_through = admin.get(f"/api/jobs/{outside['id']}").json
    assert (let_through["status"], let_through["queued_at"] is not None) == ("PENDING", True)
    harness.drain_queue()
    assert admin.get(f"/api/jobs/{outside['id']}").json["status"] == "SUCCESS"
    assert [run.status for run in callbacks(harness, batch_id)] == [ExecutionStatus.SUCCESS]


def test_cancelling_the_last_pending_child_sends_the_callback(harness: Harness, admin: AdminClient) -> None:
    created = create(admin, [good("a"), good("b")], on_complete=CALLBACK)
    batch_id, run_ids = created["batch"]["id"], created["run_ids"]
    deliver(harness, run_ids[0])
    assert admin.post(f"/api/jobs/{run_ids[1]}/cancel").json["outcome"] == "cancelled"
    found = batch(admin, batch_id)
    # the run that did not succeed was cancelled, and nothing failed: as a cancel of the batch
    assert (found["status"], found["succeeded"], found["cancelled"]) == ("CANCELLED", 1, 1)
    (made,) = callbacks(harness, batch_id)
    assert made.params["batch"]["status"] == "CANCELLED"
    assert made.queued_at is not None  # sent by the cancel, not left to the sweeper
    harness.drain_queue()  # the cancelled child's message finds it CANCELLED; the callback runs
    assert [run.status for run in callbacks(harness, batch_id)] == [ExecutionStatus.SUCCESS]


def test_a_bulk_cancel_of_a_batch_s_runs_ends_it_and_sends_the_callback(
    harness: Harness, admin: AdminClient
) -> None:
    created = create(admin, [good("a"), good("b"), good("c")], on_success=CALLBACK, on_complete=CALLBACK)
    batch_id, run_ids = created["batch"]["id"], created["run_ids"]
    deliver(harness, run_ids[0])
    body = {"batch_id": batch_id, "dry_run": True}
    dry = admin.post("/api/jobs/bulk-cancel", body=body)
    assert (dry.status, dry.json["matched"]) == (200, 2), dry.body
    done = admin.post("/api/jobs/bulk-cancel", body={**body, "dry_run": False})
    assert done.json["cancelled"] == run_ids[1:]
    found = batch(admin, batch_id)
    assert (found["status"], found["succeeded"], found["cancelled"], found["success_run_id"]) == (
        "CANCELLED",
        1,
        2,
        None,
    )
    (made,) = callbacks(harness, batch_id)
    assert (made.id, made.queued_at is not None) == (found["complete_run_id"], True)


def test_the_sweeper_ends_children_that_expired_or_whose_worker_died(
    harness: Harness, admin: AdminClient
) -> None:
    created = create(admin, [good("a"), {**good("b"), "ttl_seconds": 60}], on_complete=CALLBACK)
    batch_id, abandoned = created["batch"]["id"], created["run_ids"][0]

    async def claim(store: JobStore) -> None:  # its worker dies: the deadline passes while RUNNING
        now = datetime.now(UTC)
        assert await store.runs.claim(abandoned, attempt=0, now=now, deadline_at=now + timedelta(seconds=30))

    harness.with_store(claim)
    later = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=5)
    harness.tick(later)
    found = batch(admin, batch_id)
    assert (found["status"], found["timed_out"], found["expired"]) == ("FAILED", 1, 1)
    (made,) = callbacks(harness, batch_id)
    assert made.params["batch"]["expired"] == 1
    harness.tick(later + timedelta(minutes=3))  # the sweeper sends the callback the expiry made
    assert len(callbacks(harness, batch_id)) == 1
    harness.drain_queue()
    assert [run.status for run in callbacks(harness, batch_id)] == [ExecutionStatus.SUCCESS]


def test_a_run_the_worker_finds_expired_counts_as_expired(harness: Harness, admin: AdminClient) -> None:
    created = create(admin, [{**good("a"), "ttl_seconds": 60}], on_complete=CALLBACK)
    batch_id, (run_id,) = created["batch"]["id"], created["run_ids"]
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=5), tick=False):
        deliver(harness, run_id, run_id)  # its message comes too late, twice
    found = batch(admin, batch_id)
    assert (found["status"], found["expired"], found["counts"]) == ("FAILED", 1, {"EXPIRED": 1})
    (made,) = callbacks(harness, batch_id)
    assert made.params["batch"]["expired"] == 1


def test_two_last_children_ending_at_once_make_one_callback(harness: Harness) -> None:
    """Pairs of children claimed, then ended together on two connections: of each pair's ends one
    counts after the other, and only the second makes the callback."""
    now = datetime.now(UTC)

    async def race(store: JobStore) -> list[int]:
        made: list[int] = []
        for round_ in range(12):
            runs = [_child("sample", {"n": 1}), _child("sample", {"n": 2})]

            async def insert(conn: Any, runs: list[NewExecution] = runs) -> tuple[int, list[int]]:
                batch_, children = await store.batches.create(
                    runs, on_success=_link(), on_complete=_link(), created_by="test", now=now, conn=conn
                )
                return batch_.id, [run.id for run in children]

            batch_id, children = await store.connector.run(insert, transaction=True)
            for child in children:
                assert await store.runs.claim(child, attempt=0, now=now, deadline_at=now + timedelta(hours=1))
            status = ExecutionStatus.SUCCESS if round_ % 2 else ExecutionStatus.FAILED
            ends = await asyncio.gather(
                *(
                    store.runs.finish(
                        child,
                        attempt=0,
                        status=ExecutionStatus.SUCCESS if index else status,
                        result={},
                        error_message=None,
                        now=now,
                        batch_id=batch_id,
                    )
                    for index, child in enumerate(children)
                )
            )
            made.append(sum(len(end.callbacks) for end in ends))
            found = await store.batches.get(batch_id)
            assert found is not None
            assert found.ended == 2
            assert found.succeeded == (2 if status is ExecutionStatus.SUCCESS else 1)
        return made

    made = harness.with_store(race)
    assert made == [1, 2] * 6  # on_complete always; on_success too when both succeeded


def test_the_callback_is_stamped_no_earlier_than_any_run_ended(harness: Harness) -> None:
    """A run's end is stamped before it waits for the batch's row: the run counted last may carry the
    earlier time. The callback is made (and the batch ends) at the latest."""
    now = datetime.now(UTC)
    later = now + timedelta(seconds=10)

    async def end(store: JobStore) -> tuple[datetime, datetime | None, datetime]:
        async def insert(conn: Any) -> tuple[int, list[int]]:
            made, children = await store.batches.create(
                [_child("sample", {}), _child("sample", {})],
                on_success=None,
                on_complete=_link(),
                created_by="test",
                now=now,
                conn=conn,
            )
            return made.id, [run.id for run in children]

        batch_id, children = await store.connector.run(insert, transaction=True)
        for child, at in zip(children, (later, now), strict=True):
            assert await store.runs.claim(child, attempt=0, now=now, deadline_at=now + timedelta(hours=1))
            ended = await store.runs.finish(
                child, attempt=0, status=ExecutionStatus.SUCCESS, result={}, error_message=None, now=at,
                batch_id=batch_id,
            )  # fmt: skip
        (callback,) = ended.callbacks
        found = await store.batches.get(batch_id)
        assert found is not None
        return callback.created_at, found.finished_at, callback.available_at

    created_at, finished_at, available_at = harness.with_store(end)
    assert created_at == finished_at == later
    assert available_at == now  # runnable from the end that completed it: its sender delays nothing


async def test_a_batch_ends_cancelled_when_its_runs_were_cancelled_one_by_one(store: JobStore) -> None:
    """Every way a run ends counts toward the batch's status alike: an operator's cancel of a waiting
    run (Runs.cancel), its worker's cancel of a running one, and the sweeper's end of one whose worker
    died (Runs.finish), an expiry (Runs.expire). CANCELLED when every run that did not succeed was
    cancelled; FAILED as soon as one failed, timed out or expired; whichever end comes last."""
    now = datetime.now(UTC)
    later = now + timedelta(minutes=2)

    async def make(size: int) -> tuple[int, list[int]]:
        runs = [
            NewExecution(
                job_id=None,
                handler_name="sample",
                params={"n": n},
                param_source="api",
                max_retry=0,
                timeout_seconds=EVENT_DEFAULT_TIMEOUT_SECONDS,
                expires_at=now + timedelta(minutes=1),  # expired by `later`, if nothing started it
            )
            for n in range(size)
        ]

        async def insert(conn: Any) -> tuple[int, list[int]]:
            made, children = await store.batches.create(
                runs, on_success=None, on_complete=_link(), created_by="test", now=now, conn=conn
            )
            return made.id, [child.id for child in children]

        return await store.connector.run(insert, transaction=True)

    async def cancel(run_id: int) -> None:  # an operator's, of a run not started
        assert await store.runs.cancel(run_id, reason="by hand", now=now) == "cancelled"

    async def end(run_id: int, status: ExecutionStatus, batch_id: int) -> None:  # a worker's, the sweeper's
        assert await store.runs.claim(run_id, attempt=0, now=now, deadline_at=now + timedelta(hours=1))
        ended = await store.runs.finish(
            run_id, attempt=0, status=status, result={}, error_message=None, now=now, batch_id=batch_id
        )
        assert ended.finished

    async def expire(run_id: int) -> None:
        assert await store.runs.expire(run_id, now=later)

    async def status_of(batch_id: int) -> tuple[str, str]:
        found = await store.batches.get(batch_id)
        assert found is not None
        assert found.complete_run_id is not None
        callback = await store.runs.get(found.complete_run_id)
        assert callback is not None
        return found.status, callback.params["batch"]["status"]

    cancelled, success, failed = ExecutionStatus.CANCELLED, ExecutionStatus.SUCCESS, ExecutionStatus.FAILED
    # every run cancelled, one by one, each a different way, the worker's last
    batch_id, (first, second, third) = await make(3)
    await cancel(first)
    await end(second, cancelled, batch_id)
    await end(third, cancelled, batch_id)
    assert await status_of(batch_id) == ("CANCELLED", "CANCELLED")
    # one succeeded, the other cancelled by hand last
    batch_id, (first, second) = await make(2)
    await end(first, success, batch_id)
    await cancel(second)
    assert await status_of(batch_id) == ("CANCELLED", "CANCELLED")
    # a cancel, then a failure, a timeout or an expiry: FAILED
    for other in (failed, ExecutionStatus.TIMEOUT, None):
        batch_id, (first, second) = await make(2)
        await cancel(first)
        if other is None:
            await expire(second)
        else:
            await end(second, other, batch_id)
        assert await status_of(batch_id) == ("FAILED", "FAILED"), other
    # the failure first, the cancel last: FAILED still
    batch_id, (first, second) = await make(2)
    await end(first, failed, batch_id)
    await cancel(second)
    assert await status_of(batch_id) == ("FAILED", "FAILED")
    # every run succeeded: SUCCESS, as before
    batch_id, (first,) = await make(1)
    await end(first, success, batch_id)
    assert await status_of(batch_id) == ("SUCCESS", "SUCCESS")


async def test_the_tick_s_retention_deletes_batches_that_ended_before_its_cutoff(store: JobStore) -> None:
    now = datetime.now(UTC)

    async def make(conn: Any) -> tuple[int, int]:
        made, (child,) = await store.batches.create(
            [_child("sample", {})], on_success=None, on_complete=None, created_by="test", now=now, conn=conn
        )
        return made.id, child.id

    ended, child = await store.connector.run(make, transaction=True)
    running, _ = await store.connector.run(make, transaction=True)
    assert await store.runs.claim(child, attempt=0, now=now, deadline_at=now + timedelta(hours=1))
    await store.runs.finish(
        child,
        attempt=0,
        status=ExecutionStatus.SUCCESS,
        result={},
        error_message=None,
        now=now,
        batch_id=ended,
    )
    later = now + timedelta(days=2)
    report = await run_tick(
        store,
        DryRunQueue(),
        tick_time=later,
        now=later,
        policy=SweepPolicy(grace=timedelta(minutes=1), stuck_after=timedelta(minutes=15)),
        retry_policy=RetryPolicy(base=timedelta(seconds=10), max=timedelta(seconds=900)),
        retention=timedelta(days=1),
    )
    assert (report.deleted_batches, report.deleted_runs) == (1, 1)
    assert [batch.id for batch in await store.batches.page(limit=10, offset=0)] == [running]


def test_a_bad_batch_is_refused_whole_naming_the_item_and_field(harness: Harness, admin: AdminClient) -> None:
    for body, field in (
        ({"runs": []}, "runs"),
        ({"runs": "nope"}, "runs"),
        ({"runs": [good("a")] * 10_001}, "runs"),
        (
            {"runs": [good("a"), good("b"), {"handler_name": "sample1", "params": {"bogus": 1}}]},
            "runs[2].params",
        ),
        ({"runs": [good("a"), {"handler_name": "nope"}]}, "runs[1].handler_name"),
        ({"runs": [good("a"), {**good("b"), "delay_seconds": -1}]}, "runs[1].delay_seconds"),
        ({"runs": [good("a"), "not an object"]}, "runs[1]"),
        ({"runs": [{**good("a"), "idempotency_key": "k"}]}, "runs[0].idempotency_key"),
        ({"runs": [good("a"), {**good("b"), "debounce": {"key": "k", "seconds": 5}}]}, "runs[1].debounce"),
        ({"runs": [good("a")], "on_success": {"handler_name": "nope"}}, "on_success.handler_name"),
        ({"runs": [good("a")], "on_complete": "sample"}, "on_complete"),
        ({"runs": [good("a")], "on_complete": {**CALLBACK, "extra": 1}}, "on_complete.extra"),
        (
            {"runs": [good("a")], "on_complete": {"handler_name": "sample", "params": {"batch": 1}}},
            "on_complete.params.batch",
        ),
        # a callback's params must suit its handler with the batch they will carry (sample1's are strict)
        (
            {"runs": [good("a")], "on_success": {"handler_name": "sample1", "params": {"bogus": 1}}},
            "on_success.params",
        ),
        ({"runs": [good("a")], "callback": CALLBACK}, "callback"),
    ):
        response = admin.post("/api/batches", body=body)
        assert response.status == 400, (field, response.body)
        assert (response.json["error"], response.json["field"]) == ("invalid_request", field), response.json
    assert admin.get("/api/batches").json["total"] == 0
    assert admin.get("/api/jobs").json["total"] == 0
    assert harness.drain_queue() == 0


def test_a_retried_batch_request_with_its_key_makes_nothing(harness: Harness, admin: AdminClient) -> None:
    body = {"runs": [good("a"), good("b")], "on_complete": CALLBACK, "idempotency_key": "import-7"}
    first = admin.post("/api/batches", body={**body, "idempotency_ttl_seconds": 600})
    assert (first.status, first.json["deduplicated"]) == (201, False), first.body
    made = first.json
    assert made["batch"]["idempotency_key"] == "import-7"
    assert harness.drain_queue() == 3  # its runs and its callback ran: the retry sends nothing
    again = admin.post("/api/batches", body={**body, "runs": [good("c")]})  # the same key, another body
    assert (again.status, again.json["deduplicated"]) == (200, True), again.body
    assert (again.json["batch"]["id"], again.json["run_ids"]) == (made["batch"]["id"], made["run_ids"])
    assert again.json["batch"]["status"] == "SUCCESS"
    assert admin.get("/api/batches").json["total"] == 1
    assert admin.get("/api/jobs", query={"batch_id": made["batch"]["id"]}).json["total"] == 2
    assert admin.get("/api/jobs").json["total"] == 3  # and the callback
    assert harness.drain_queue() == 0
    # the retry is audited too: who asked, and the batch that answered
    rows = trail(admin, operation="batch.create")
    assert [row["target_id"] for row in rows] == [str(made["batch"]["id"])] * 2
    assert {"deduplicated": True, "idempotency_key": "import-7"} in [row["after_state"] for row in rows]
    # a run's key of the same text is another noun's: it makes its run
    run = admin.post("/api/runs", body={**good("d"), "idempotency_key": "import-7"})
    assert (run.status, run.json["deduplicated"]) == (201, False)
    other = admin.post("/api/batches", body={**body, "idempotency_key": "import-8"})
    assert (other.status, other.json["batch"]["id"]) == (201, made["batch"]["id"] + 1)
    # past the key's TTL (600 s) the key passes to a new batch
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=601), tick=False):
        later = admin.post("/api/batches", body=body)
    assert (later.status, later.json["deduplicated"]) == (201, False), later.body
    assert later.json["batch"]["id"] not in (made["batch"]["id"], other.json["batch"]["id"])
    repeat = admin.post("/api/batches", body=body)
    assert repeat.json["batch"]["id"] == later.json["batch"]["id"]  # the newest batch of the key


def test_a_bad_batch_key_is_refused(harness: Harness, admin: AdminClient) -> None:
    for extra, field in (
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"idempotency_key": "k" * 201}, "idempotency_key"),
        ({"idempotency_key": "key\n"}, "idempotency_key"),  # fullmatch: `$` would let it through
        ({"idempotency_key": 7}, "idempotency_key"),
        ({"idempotency_key": "k", "idempotency_ttl_seconds": 0}, "idempotency_ttl_seconds"),
        ({"idempotency_key": "k", "idempotency_ttl_seconds": 366 * 24 * 3600}, "idempotency_ttl_seconds"),
        ({"idempotency_key": "k", "idempotency_ttl_seconds": "60"}, "idempotency_ttl_seconds"),
        ({"idempotency_ttl_seconds": 60}, "idempotency_ttl_seconds"),  # only with a key
    ):
        response = admin.post("/api/batches", body={"runs": [good("a")], **extra})
        assert response.status == 400, (extra, response.body)
        assert (response.json["error"], response.json["field"]) == ("invalid_request", field), response.json
    assert admin.get("/api/batches").json["total"] == 0
    assert harness.drain_queue() == 0


def test_concurrent_requests_with_one_key_make_one_batch(harness: Harness) -> None:
    """Six requests with one key at once, each on its own store (its own connections, as six admin
    function containers): one batch is made, and the other five answer with it."""
    document = {"runs": [good("a"), good("b"), good("c")], "on_complete": CALLBACK}

    async def at_once() -> list[batches.BatchCreated]:
        stores = [await open_store(harness.database_url) for _ in range(6)]
        queue = WorkQueue(sqs_client=harness.sqs, queue_url=harness.queue_url)
        try:
            answers: list[batches.BatchCreated] = []
            for round_ in range(3):
                request = {**document, "idempotency_key": f"nightly-{round_}"}
                answers += await asyncio.gather(
                    *(
                        batches.create(
                            store,
                            queue,
                            request,
                            known_handlers=known_handler_names(),
                            now=datetime.now(UTC),
                            actor=TEST_ACTOR,
                        )
                        for store in stores
                    )
                )
            return answers
        finally:
            for store in stores:
                await store.close()

    answers = run_async(at_once())
    for round_ in range(3):
        made = answers[round_ * 6 : round_ * 6 + 6]
        assert sorted(answer.deduplicated for answer in made) == [False] + [True] * 5
        ids = {answer.batch.id for answer in made if answer.batch is not None}
        assert len(ids) == 1
        assert len({tuple(answer.run_ids) for answer in made}) == 1
    assert len(harness.executions()) == 9  # three batches of three, nothing more
    assert harness.drain_queue() == 12  # and each batch's callback


def test_retention_prunes_a_batch_s_expired_key(harness: Harness, admin: AdminClient) -> None:
    body = {"runs": [good("a")], "idempotency_key": "short", "idempotency_ttl_seconds": 60}
    made = create(admin, body["runs"], idempotency_key="short", idempotency_ttl_seconds=60)
    create(admin, [good("b")], idempotency_key="long")  # a day
    start = datetime.now(UTC).replace(microsecond=0)
    assert harness.tick(start + timedelta(minutes=2))["deleted_idempotency_keys"] == 1  # "short" only
    assert harness.tick(start + timedelta(minutes=3))["deleted_idempotency_keys"] == 0
    again = admin.post("/api/batches", body=body)
    assert (again.status, again.json["deduplicated"]) == (201, False)
    assert again.json["batch"]["id"] != made["batch"]["id"]
    assert admin.post("/api/batches", body={"runs": [good("b")], "idempotency_key": "long"}).status == 200


def test_a_batch_of_many_runs_is_inserted_in_pages(harness: Harness) -> None:
    now = datetime.now(UTC)

    async def make(store: JobStore) -> tuple[int, int, dict[str, int]]:
        runs = [_child("sample", {"n": n}) for n in range(1_201)]

        async def insert(conn: Any) -> tuple[int, int]:
            made, children = await store.batches.create(
                runs, on_success=None, on_complete=None, created_by="test", now=now, conn=conn
            )
            return made.total, len(children)

        total, children = await store.connector.run(insert, transaction=True)
        (listed,) = await store.batches.page(limit=10, offset=0)
        return total, children, await store.batches.status_counts(listed.id)

    assert harness.with_store(make) == (1_201, 1_201, {"PENDING": 1_201})


def test_batches_are_listed_read_and_audited(harness: Harness, admin: AdminClient) -> None:
    answer, request_id = signed(
        "POST", "/api/batches", OPERATOR, body={"runs": [good("a")], "on_complete": CALLBACK}
    )
    assert answer.status == 201, answer.body
    first = answer.json["batch"]
    assert first["created_by"] == OPERATOR
    (row,) = trail(admin, operation="batch.create")
    assert (row["principal"], row["target_kind"], row["target_id"]) == (OPERATOR, "batch", str(first["id"]))
    assert row["request_id"] == request_id
    assert row["after_state"] == {
        "total": 1,
        "handlers": ["sample1"],
        "on_success": None,
        "on_complete": "sample",
    }
    second = create(admin, [good("b"), good("c")])["batch"]
    listed = admin.get("/api/batches").json
    assert [item["id"] for item in listed["items"]] == [second["id"], first["id"]]
    assert listed["total"] == 2
    harness.drain_queue()
    assert [item["id"] for item in admin.get("/api/batches", query={"status": "SUCCESS"}).json["items"]] == [
        second["id"],
        first["id"],
    ]
    assert admin.get("/api/batches", query={"status": "RUNNING"}).json["total"] == 0
    assert admin.get("/api/batches", query={"status": "nope"}).status == 400
    assert admin.get("/api/batches/999999").status == 404
    assert admin.get("/api/jobs", query={"batch_id": second["id"]}).json["total"] == 2
    assert admin.get("/api/jobs", query={"batch_id": 0}).status == 400
    spec = admin.get("/openapi.json").json
    assert {"/api/batches", "/api/batches/{batch_id}", "/api/batches/{batch_id}/cancel"} <= set(spec["paths"])


def test_jobu_batches_on_a_database(jobu_cli: Cli, tmp_path: Path) -> None:  # noqa: F811  # the fixture
    cli = jobu_cli
    request = tmp_path / "batch.json"
    request.write_text(json.dumps({"runs": [good("a"), good("b")], "on_complete": CALLBACK}))
    made = cli.json("batches", "create", str(request))
    batch_id, run_ids = made["batch"]["id"], made["run_ids"]
    assert (made["batch"]["total"], made["batch"]["status"], made["batch"]["created_by"]) == (
        2,
        "RUNNING",
        "os:" + getpass.getuser(),
    )
    assert sorted(message["execution_id"] for message in cli.messages()) == run_ids
    status, out, _ = cli("batches")
    assert status == 0
    assert out.splitlines()[-1] == "1 batch (page 1 of 1)"
    assert f"{batch_id}   RUNNING  0/2" in out
    assert [item["id"] for item in cli.json("batches", "list", "--status", "RUNNING")] == [batch_id]
    assert cli.json("batches", "list", "--status", "SUCCESS") == []
    assert sorted(run["id"] for run in cli.json("runs", "--batch", str(batch_id))) == run_ids
    shown = cli.json("batches", "show", str(batch_id))
    assert (shown["counts"], shown["callback_run_id"]) == ({"PENDING": 2}, None)
    status, out, _ = cli("batches", "cancel", str(batch_id))
    assert status == 0
    assert out.startswith(f"batch {batch_id}: 2 waiting or pending runs cancelled\n")
    shown = cli.json("batches", "show", str(batch_id))
    assert (shown["status"], shown["cancelled"], shown["counts"]) == ("CANCELLED", 2, {"CANCELLED": 2})
    assert shown["complete_run_id"] is not None
    assert cli.refused("batches", "show", "999") == "jobu: not_found: no batch with id 999"
    request.write_text(json.dumps({"runs": [good("a"), {"handler_name": "nope"}]}))
    assert cli.refused("batches", "create", str(request)).startswith(
        "jobu: invalid_request: runs[1]: handler_name: unknown handler 'nope'"
    )
    request.write_text("[1]")
    assert (
        cli.refused("batches", "create", str(request)) == f"jobu: {request} must be a JSON object, not list"
    )
    assert cli.refused("batches", "create", str(tmp_path / "none.json")).startswith("jobu: cannot read ")

    # a script's retry with its key makes no second batch
    request.write_text(json.dumps({"runs": [good("a")]}))
    keyed = cli.json("batches", "create", str(request), "--idempotency-key", "nightly")
    assert (keyed["deduplicated"], keyed["batch"]["idempotency_key"]) == (False, "nightly")
    status, out, _ = cli("batches", "create", str(request), "--idempotency-key", "nightly")
    assert status == 0
    assert out.startswith(f"batch {keyed['batch']['id']} holds idempotency key 'nightly': nothing made\n")
    assert "idempotency_key  nightly" in out
    assert cli.refused(
        "batches", "create", str(request), "--idempotency-key", "n", "--idempotency-ttl-seconds", "0"
    ).startswith("jobu: invalid_request: idempotency_ttl_seconds: ")
    assert len(cli.json("batches")) == 2


def _child(handler_name: str, params: dict[str, Any], *, max_retry: int = 0) -> NewExecution:
    return NewExecution(
        job_id=None,
        handler_name=handler_name,
        params=params,
        param_source="api",
        max_retry=max_retry,
        timeout_seconds=EVENT_DEFAULT_TIMEOUT_SECONDS,
    )


def _link() -> dict[str, Any]:
    return {**CALLBACK, "max_retry": 0, "timeout_seconds": EVENT_DEFAULT_TIMEOUT_SECONDS}
