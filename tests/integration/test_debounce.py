"""Debounce (a run request's `debounce {"key", "seconds", "max_wait_seconds"}`) through the real
queue dispatcher, admin API, cron tick (the sweeper sends a window's run once it may start) and
worker, on PostgreSQL, MariaDB and SQLite: one run per window with the last request's params, the
window moved by each request and bounded by its max wait, redelivered records, two dispatchers at
once; and the tick's retention of expired idempotency claims and old debounce rows."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from jobu.event_dispatch import dispatch_event
from jobu.handler_manifest import known_handler_names
from jobu.models import Execution
from jobu.store import open_store
from jobu.work_queue import WorkQueue
from tests.integration.test_cli_admin import Cli
from tests.integration.test_cli_admin import cli as jobu_cli  # noqa: F401  # a fixture: `jobu` on a database
from tests.support.admin_client import AdminClient
from tests.support.harness import Harness, kafka_record, msk_event, run

# near the real clock: moto drops messages sent from a time beyond the queue's retention
T0 = datetime.now(UTC).replace(second=0, microsecond=0)


def request(name: str, *, key: str = "cart-1", seconds: int = 30, **debounce: Any) -> str:
    return json.dumps(
        {
            "handler_name": "sample",
            "params": {"name": name},
            "debounce": {"key": key, "seconds": seconds, **debounce},
        }
    )


def dispatch(harness: Harness, *records: dict[str, Any], at: datetime) -> dict[str, Any]:
    with time_machine.travel(at, tick=False):
        return harness.invoke_queue(msk_event(*records))


def runs(harness: Harness) -> list[Execution]:
    return harness.executions()


def sent_by_tick(harness: Harness, at: datetime) -> list[int]:
    report = harness.tick(at)
    assert report["failed"] == [], report
    assert report["sweep"]["failed"] == [], report
    return list(report["sweep"]["requeued"])


def test_requests_in_one_window_make_one_run_with_the_last_params_sent_when_it_starts(
    harness: Harness,
) -> None:
    first = dispatch(harness, kafka_record(1, request("a")), at=T0)
    (window,) = runs(harness)
    assert first["debounced"] == {"jobu-events:0:1": window.id}
    assert first["dispatched"] == []
    assert (window.status, window.queued_at, window.debounce_key) == ("PENDING", None, "cart-1")
    assert window.available_at == T0 + timedelta(seconds=30)

    # each request within the window replaces the params and moves the start
    dispatch(harness, kafka_record(2, request("b")), at=T0 + timedelta(seconds=10))
    last = dispatch(harness, kafka_record(3, request("c")), at=T0 + timedelta(seconds=25))
    (window,) = runs(harness)
    assert last["debounced"] == {"jobu-events:0:3": window.id}
    assert window.params == {"name": "c"}
    assert window.available_at == T0 + timedelta(seconds=55)
    assert window.queued_at is None

    # another key, and the same key of another handler, are windows of their own
    dispatch(harness, kafka_record(4, request("other", key="cart-2")), at=T0 + timedelta(seconds=26))
    other_handler = json.dumps({"handler_name": "sample2", "debounce": {"key": "cart-1", "seconds": 30}})
    dispatch(harness, kafka_record(5, other_handler), at=T0 + timedelta(seconds=26))
    assert len(runs(harness)) == 3

    # nothing is sent before the start: a tick before it sends nothing, the queue stays empty
    assert sent_by_tick(harness, T0 + timedelta(seconds=54)) == []
    assert harness.drain_queue() == 0
    # the tick after the start sends it (the others start later)
    assert sent_by_tick(harness, T0 + timedelta(seconds=55)) == [window.id]
    assert harness.drain_queue() == 1
    done = harness.with_store(lambda s: s.runs.get(window.id))
    assert done is not None
    assert (done.status, done.params) == ("SUCCESS", {"name": "c"})

    # a request once the run has started opens a new window: a new run
    later = dispatch(harness, kafka_record(6, request("d")), at=T0 + timedelta(seconds=60))
    newest = runs(harness)[-1]
    assert later["debounced"] == {"jobu-events:0:6": newest.id}
    assert newest.id != window.id
    assert (newest.params, newest.status) == ({"name": "d"}, "PENDING")


def test_the_start_never_moves_past_the_max_wait(harness: Harness) -> None:
    for offset, at in ((1, 0), (2, 20), (3, 40), (4, 55)):
        dispatch(
            harness,
            kafka_record(offset, request(f"r{offset}", max_wait_seconds=60)),
            at=T0 + timedelta(seconds=at),
        )
    (window,) = runs(harness)
    assert window.params == {"name": "r4"}
    assert window.available_at == T0 + timedelta(seconds=60)  # not 55 + 30: the first request + 60 s

    # still waiting at 59 s: joined, the start stays at the bound
    joined = dispatch(
        harness, kafka_record(5, request("r5", max_wait_seconds=60)), at=T0 + timedelta(seconds=59)
    )
    assert joined["debounced"] == {"jobu-events:0:5": window.id}
    # at 60 s the run is due (the next tick sends it): a request then opens a new window
    after = dispatch(
        harness, kafka_record(6, request("r6", max_wait_seconds=60)), at=T0 + timedelta(seconds=60)
    )
    first, second = runs(harness)
    assert first.params == {"name": "r5"}
    assert after["debounced"] == {"jobu-events:0:6": second.id}
    assert second.available_at == T0 + timedelta(seconds=90)
    assert sent_by_tick(harness, T0 + timedelta(seconds=61)) == [first.id]
    assert harness.drain_queue() == 1


def test_a_run_sent_is_never_joined_even_before_it_started(harness: Harness) -> None:
    dispatch(harness, kafka_record(1, request("a", seconds=5)), at=T0)
    (window,) = runs(harness)
    assert sent_by_tick(harness, T0 + timedelta(seconds=5)) == [window.id]
    # sent, not yet claimed: its message may be claimed at any moment, so it is no longer moved
    dispatch(harness, kafka_record(2, request("b", seconds=5)), at=T0 + timedelta(seconds=4))
    first, second = runs(harness)
    assert (first.params, second.params) == ({"name": "a"}, {"name": "b"})
    assert harness.drain_queue() == 1  # only the first: the second starts at its own time


def test_a_redelivered_record_is_not_a_new_request(harness: Harness) -> None:
    dispatch(harness, kafka_record(1, request("a")), kafka_record(2, request("b")), at=T0)
    (window,) = runs(harness)
    # the first record again (the batch's offsets were not committed): the params stay the last one's
    again = dispatch(harness, kafka_record(1, request("a")), at=T0 + timedelta(seconds=5))
    assert again["debounced"] == {"jobu-events:0:1": window.id}
    (window,) = runs(harness)
    assert window.params == {"name": "b"}
    assert window.available_at == T0 + timedelta(seconds=30)  # not moved either

    # after the run ran, the whole batch again makes no new run
    assert sent_by_tick(harness, T0 + timedelta(seconds=30)) == [window.id]
    assert harness.drain_queue() == 1
    replay = dispatch(
        harness, kafka_record(1, request("a")), kafka_record(2, request("b")), at=T0 + timedelta(seconds=40)
    )
    assert replay["debounced"] == {"jobu-events:0:1": window.id, "jobu-events:0:2": window.id}
    assert [r.id for r in runs(harness)] == [window.id]
    assert harness.with_store(lambda s: s.rejected_records.list_recent()) == []


@pytest.mark.parametrize(
    ("debounce", "field"),
    [
        ("soon", "debounce"),
        ({"seconds": 5}, "debounce.key"),
        ({"key": "", "seconds": 5}, "debounce.key"),
        ({"key": "k"}, "debounce.seconds"),
        ({"key": "k", "seconds": 0}, "debounce.seconds"),
        ({"key": "k", "seconds": 1.5}, "debounce.seconds"),
        ({"key": "k", "seconds": 86_401}, "debounce.seconds"),
        ({"key": "k", "seconds": 60, "max_wait_seconds": 30}, "debounce.max_wait_seconds"),
        ({"key": "k", "seconds": 5, "wait": 1}, "debounce.wait"),
    ],
)
def test_a_bad_debounce_is_a_rejected_record_naming_the_field(
    harness: Harness, admin: AdminClient, debounce: Any, field: str
) -> None:
    record = json.dumps({"handler_name": "sample", "debounce": debounce})
    report = dispatch(harness, kafka_record(1, record), at=T0)
    (reason,) = report["rejected"]
    assert f"{field}" in reason
    response = admin.post("/api/runs", body={"handler_name": "sample", "debounce": debounce})
    assert response.status == 400
    assert response.json["field"] == field
    assert runs(harness) == []


@pytest.mark.parametrize("other", [{"delay_seconds": 5}, {"idempotency_key": "k"}])
def test_debounce_with_another_start_or_a_dedup_key_is_refused(
    harness: Harness, admin: AdminClient, other: dict[str, Any]
) -> None:
    body = {"handler_name": "sample", "debounce": {"key": "k", "seconds": 5}, **other}
    response = admin.post("/api/runs", body=body)
    assert (response.status, response.json["field"]) == (400, "debounce")


def test_the_enqueue_api_debounces_too(harness: Harness, admin: AdminClient) -> None:
    window = {"key": "user-9", "seconds": 60, "max_wait_seconds": 600}
    first = admin.post(
        "/api/runs", body={"handler_name": "sample", "params": {"name": "a"}, "debounce": window}
    )
    assert first.status == 201, first.body
    run_id = first.json["run"]["id"]
    assert (first.json["debounced"], first.json["run"]["queued_at"]) == (False, None)
    second = admin.post(
        "/api/runs/batch",
        body={
            "runs": [
                {"handler_name": "sample", "params": {"name": "b"}, "debounce": window},
                {"handler_name": "sample", "params": {"name": "c"}, "debounce": window},
            ]
        },
    )
    assert second.status == 200, second.body
    results = second.json["results"]
    assert [(r["run"]["id"], r["debounced"]) for r in results] == [(run_id, True), (run_id, True)]
    assert results[1]["run"]["params"] == {"name": "c"}
    assert harness.drain_queue() == 0  # nothing sent before the window ends
    (only,) = runs(harness)
    assert (only.params, only.param_source, only.debounce_key) == ({"name": "c"}, "api", "user-9")
    started = only.available_at
    assert sent_by_tick(harness, started) == [only.id]
    assert harness.drain_queue() == 1
    assert admin.get(f"/api/jobs/{run_id}").json["status"] == "SUCCESS"


def test_two_dispatchers_at_once_make_one_run_per_key(harness: Harness) -> None:
    keys = [f"cart-{n}" for n in range(4)]

    async def two_invocations() -> list[Any]:
        # two dispatcher invocations = two containers, each with its own connections
        stores = [await open_store(harness.database_url) for _ in range(2)]
        queue = WorkQueue(sqs_client=harness.sqs, queue_url=harness.queue_url)
        events = [
            msk_event(
                *(
                    kafka_record(i, request(f"p{n}-{i}", key=key), partition=n)
                    for i, key in enumerate(keys + keys)
                )
            )
            for n in range(2)
        ]
        try:
            return list(
                await asyncio.gather(
                    *(
                        dispatch_event(store, queue, event, known_handlers=known_handler_names(), now=T0)
                        for store, event in zip(stores, events, strict=True)
                    )
                )
            )
        finally:
            for store in stores:
                await store.close()

    reports = run(two_invocations())
    made = runs(harness)
    assert sorted(r.debounce_key or "" for r in made) == keys
    by_key = {r.debounce_key: r for r in made}
    for report in reports:
        assert report.rejected == []
        assert len(report.debounced) == 2 * len(keys)
        for record_key, run_id in report.debounced.items():
            offset = int(record_key.rsplit(":", 1)[1])
            assert run_id == by_key[keys[offset % len(keys)]].id
    # each key's run holds the params of one of its last requests (one per dispatcher)
    for index, key in enumerate(keys):
        last = {f"p{n}-{index + len(keys)}" for n in range(2)}
        assert by_key[key].params["name"] in last


def test_retention_prunes_expired_idempotency_claims_and_old_debounce_rows(harness: Harness) -> None:
    keyed = json.dumps(
        {"handler_name": "sample", "idempotency_key": "order-1", "idempotency_ttl_seconds": 60}
    )
    long_keyed = json.dumps({"handler_name": "sample", "idempotency_key": "order-2"})  # a day
    dispatch(
        harness, kafka_record(1, keyed), kafka_record(2, long_keyed), kafka_record(3, request("a")), at=T0
    )
    assert harness.drain_queue() == 2

    report = harness.tick(T0 + timedelta(seconds=61))
    assert report["deleted_idempotency_keys"] == 1  # order-1's claim only
    assert report["deleted_debounce_rows"] == 0
    assert harness.tick(T0 + timedelta(seconds=62))["deleted_idempotency_keys"] == 0
    # order-2 still holds its key; order-1's passes to a new request as before
    again = dispatch(
        harness, kafka_record(4, long_keyed), kafka_record(5, keyed), at=T0 + timedelta(seconds=63)
    )
    assert list(again["deduplicated"]) == ["jobu-events:0:4"]
    assert len(again["dispatched"]) == 1

    # a window untouched for 8 days: its key row and its request row go
    later = T0 + timedelta(days=8, seconds=1)
    report = harness.tick(later)
    assert report["deleted_debounce_rows"] == 2
    assert report["deleted_idempotency_keys"] == 2  # order-1 again (60 s), order-2 (a day)
    assert harness.tick(later + timedelta(seconds=1))["deleted_debounce_rows"] == 0


def test_jobu_enqueue_debounces_on_a_database(jobu_cli: Cli) -> None:  # noqa: F811  # the fixture imported above
    cli = jobu_cli
    first = cli.json("enqueue", "sleep", "--params", '{"seconds": 0, "name": "a"}', "--debounce", "k",
                     "--debounce-seconds", "60", "--debounce-max-wait", "120")  # fmt: skip
    run = first["run"]
    assert (first["debounced"], run["debounce_key"], run["queued_at"]) == (False, "k", None)
    status, out, _ = cli("enqueue", "sleep", "--params", '{"seconds": 0, "name": "b"}', "--debounce", "k",
                         "--debounce-seconds", "60")  # fmt: skip
    assert status == 0
    assert out.startswith(
        f"joined run {run['id']} of debounce key 'k': it takes these params, starts later\n"
    )
    assert cli.messages() == []  # sent by the sweeper when the window ends
    shown = cli.json("runs", "show", str(run["id"]))
    assert (shown["debounce_key"], shown["params"]) == ("k", {"seconds": 0, "name": "b"})
    status, out, _ = cli("runs", "show", str(run["id"]))
    assert "debounce_key" in out
    assert " k\n" in out
    assert cli.refused("enqueue", "sleep", "--debounce", "k") == (
        "jobu: invalid_request: debounce.seconds: Input should be a valid integer"
    )
    assert cli.refused("enqueue", "sleep", "--debounce-seconds", "5") == (
        "jobu: --debounce-seconds and --debounce-max-wait go with --debounce KEY"
    )
