"""A run request's flow control fields on a Kafka record, through the real queue dispatcher, sweeper
and worker, on every backend: idempotency keys, expiry, delays, priority, tags, concurrency keys, and
bad values rejected one record at a time."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from botocore.client import BaseClient
from botocore.exceptions import EndpointConnectionError
from pydantic import ValidationError

from jobu.event_dispatch import dispatch_event
from jobu.handler_manifest import known_handler_names
from jobu.models import Execution
from jobu.operations import cron_jobs
from jobu.operations.cron_jobs import CronJobUpdate, RunNowRequest
from jobu.specs import CronJobSpec
from jobu.store import open_store
from jobu.work_queue import WorkQueue
from tests.conftest import WORKER_TIMEOUTS
from tests.support.admin_client import AdminClient
from tests.support.harness import REQUEUE_GRACE, Harness, kafka_record, msk_event, run, work_message
from tests.support.principals import TEST_ACTOR

# near the real clock: moto drops messages sent from a time beyond the queue's retention
T0 = datetime.now(UTC).replace(second=0, microsecond=0)


def request(**fields: Any) -> str:
    return json.dumps({"handler_name": "sample", "params": {"name": "flow"}, **fields})


def dispatch(harness: Harness, *records: dict[str, Any], at: datetime = T0) -> dict[str, Any]:
    with time_machine.travel(at, tick=False):
        return harness.invoke_queue(msk_event(*records))


def worker_at(harness: Harness, execution_id: int, at: datetime) -> dict[str, Any]:
    with time_machine.travel(at, tick=False):
        return harness.invoke_worker([work_message(execution_id)])


def only_run(harness: Harness) -> Execution:
    (found,) = harness.executions()
    return found


@pytest.fixture
def sent_batches(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every SendMessageBatch entry sent to SQS, as sent."""
    entries: list[dict[str, Any]] = []
    real_call = BaseClient._make_api_call

    def recording(client: BaseClient, operation: str, params: Any) -> Any:
        if operation == "SendMessageBatch":
            entries.extend(params["Entries"])
        return real_call(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recording)
    return entries


# idempotency -----------------------------------------------------------------------------------


def test_one_run_per_idempotency_key_within_its_ttl_and_a_new_one_after(harness: Harness) -> None:
    first = dispatch(
        harness,
        kafka_record(1, request(idempotency_key="order-7", idempotency_ttl_seconds=600)),
        kafka_record(2, request(idempotency_key="order-7", params={"name": "again"})),
        kafka_record(3, request(idempotency_key="order-8")),
    )
    runs = harness.executions()
    assert [(r.source_offset, r.idempotency_key) for r in runs] == [(1, "order-7"), (3, "order-8")]
    assert first["deduplicated"] == {"jobu-events:0:2": runs[0].id}
    assert first["rejected"] == []

    # a later batch within the TTL: a duplicate of the first run, not a rejected record
    later = dispatch(
        harness, kafka_record(4, request(idempotency_key="order-7")), at=T0 + timedelta(seconds=599)
    )
    assert later["deduplicated"] == {"jobu-events:0:4": runs[0].id}
    assert later["dispatched"] == []
    assert len(harness.executions()) == 2
    assert harness.with_store(lambda s: s.rejected_records.list_recent()) == []

    # the same key with another handler is another key
    dispatch(harness, kafka_record(5, json.dumps({"handler_name": "sample1", "idempotency_key": "order-7"})))
    assert len(harness.executions()) == 3

    # past the TTL the key makes a new run, which then holds it for its own TTL (a day by default)
    after = dispatch(
        harness, kafka_record(6, request(idempotency_key="order-7")), at=T0 + timedelta(seconds=601)
    )
    newest = harness.executions()[-1]
    assert (newest.source_offset, newest.idempotency_key) == (6, "order-7")
    assert after["dispatched"] == [newest.id]
    again = dispatch(
        harness, kafka_record(7, request(idempotency_key="order-7")), at=T0 + timedelta(seconds=1200)
    )
    assert again["deduplicated"] == {"jobu-events:0:7": newest.id}

    # a redelivery of the record that holds the key is the same record, not a duplicate
    assert dispatch(harness, kafka_record(6, request(idempotency_key="order-7")))["deduplicated"] == {}
    assert len(harness.executions()) == 4


def test_concurrent_dispatchers_with_the_same_key_make_one_run(harness: Harness) -> None:
    keys = [f"payment-{n}" for n in range(5)]

    async def two_invocations() -> list[Any]:
        # two dispatcher invocations = two containers, each with its own connections
        stores = [await open_store(harness.database_url) for _ in range(2)]
        queue = WorkQueue(sqs_client=harness.sqs, queue_url=harness.queue_url)
        events = [
            msk_event(
                *(
                    kafka_record(n * 10 + i, request(idempotency_key=key), partition=n)
                    for i, key in enumerate(keys)
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
    runs = harness.executions()
    assert sorted(r.idempotency_key for r in runs) == keys
    made = [i for report in reports for i in report.dispatched]
    deduplicated = [i for report in reports for i in report.deduplicated.values()]
    assert sorted(made) == sorted(r.id for r in runs)
    assert sorted(deduplicated) == sorted(r.id for r in runs)
    assert harness.drain_queue() == 5
    assert {r.status for r in harness.executions()} == {"SUCCESS"}


# expiry ----------------------------------------------------------------------------------------


def test_a_run_not_started_by_its_ttl_is_refused_by_the_claim_and_ends_expired(harness: Harness) -> None:
    report = dispatch(
        harness, kafka_record(1, request(ttl_seconds=60)), kafka_record(2, request(ttl_seconds=60))
    )
    expiring, on_time = harness.executions()
    assert expiring.expires_at == T0 + timedelta(seconds=60)
    assert report["dispatched"] == [expiring.id, on_time.id]

    worker_at(harness, on_time.id, T0 + timedelta(seconds=59))
    response = worker_at(harness, expiring.id, T0 + timedelta(seconds=61))
    assert response["batchItemFailures"] == []
    expired, succeeded = harness.executions()
    assert (expired.status, expired.started_at, expired.finished_at) == (
        "EXPIRED",
        None,
        T0 + timedelta(seconds=61),
    )
    assert expired.error_message == "expired: not started by its expires_at"
    assert succeeded.status == "SUCCESS"
    # a late duplicate of the message finds it final
    worker_at(harness, expiring.id, T0 + timedelta(seconds=62))
    assert harness.executions()[0].status == "EXPIRED"


def test_the_sweeper_expires_a_run_it_would_otherwise_send(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_call = BaseClient._make_api_call

    def sqs_down(client: BaseClient, operation: str, params: Any) -> Any:
        if operation == "SendMessageBatch":
            raise EndpointConnectionError(endpoint_url="https://sqs.us-east-1.amazonaws.com")
        return real_call(client, operation, params)

    with monkeypatch.context() as patched:
        patched.setattr(BaseClient, "_make_api_call", sqs_down)
        dispatch(harness, kafka_record(1, request(ttl_seconds=90)), kafka_record(2, request()))
    assert [(r.status, r.queued_at) for r in harness.executions()] == [("PENDING", None)] * 2

    report = harness.tick(T0 + REQUEUE_GRACE + timedelta(seconds=60))
    expired, other = harness.executions()
    assert report["sweep"]["requeued"] == [other.id]
    assert (expired.status, expired.queued_at, expired.started_at) == ("EXPIRED", None, None)
    assert harness.drain_queue() == 1
    assert [r.status for r in harness.executions()] == ["EXPIRED", "SUCCESS"]


# delays ----------------------------------------------------------------------------------------


def test_a_short_delay_is_an_sqs_delay(harness: Harness, sent_batches: list[dict[str, Any]]) -> None:
    run_at = T0 + timedelta(seconds=120)
    dispatch(
        harness,
        kafka_record(1, request(delay_seconds=300)),
        kafka_record(2, request(run_at=run_at.isoformat())),
        kafka_record(3, request()),
    )
    delayed, scheduled, now = harness.executions()
    assert (delayed.available_at, scheduled.available_at, now.available_at) == (
        T0 + timedelta(seconds=300),
        run_at,
        T0,
    )
    delays = {
        int(json.loads(entry["MessageBody"])["execution_id"]): entry["DelaySeconds"] for entry in sent_batches
    }
    assert delays == {delayed.id: 300, scheduled.id: 120, now.id: 0}
    assert all(r.queued_at is not None for r in harness.executions())


def test_a_long_delay_is_handed_over_by_the_sweeper_when_due(
    harness: Harness, sent_batches: list[dict[str, Any]]
) -> None:
    report = dispatch(harness, kafka_record(1, request(delay_seconds=3600)))
    assert report["dispatched"] == []
    assert report["unsent"] == []
    waiting = only_run(harness)
    assert (waiting.status, waiting.queued_at, waiting.available_at) == (
        "PENDING",
        None,
        T0 + timedelta(hours=1),
    )

    # more than SQS's 15 minutes away: still not sent
    assert harness.tick(T0 + timedelta(minutes=30))["sweep"]["requeued"] == []
    assert sent_batches == []
    # within 15 minutes: sent, with the delay that is left
    report = harness.tick(T0 + timedelta(minutes=50))
    assert report["sweep"]["requeued"] == [waiting.id]
    assert [entry["DelaySeconds"] for entry in sent_batches] == [600]
    assert only_run(harness).queued_at == T0 + timedelta(minutes=50)
    # and it is sent once
    harness.tick(T0 + timedelta(minutes=51))
    assert len(sent_batches) == 1

    worker_at(harness, waiting.id, T0 + timedelta(hours=1))
    assert only_run(harness).status == "SUCCESS"


# priority, tags, concurrency keys --------------------------------------------------------------


def test_priority_tags_and_concurrency_key_are_stored_and_runs_listed_by_tag(harness: Harness) -> None:
    dispatch(
        harness,
        kafka_record(1, request(priority="high", tags=["tenant-a", "billing"], concurrency_key="tenant-a")),
        kafka_record(2, request(priority="low", tags=["tenant-b", "billing", "billing"])),
        kafka_record(3, request()),
    )
    high, low, plain = harness.executions()
    assert (high.priority, high.tags, high.concurrency_key) == ("high", ["tenant-a", "billing"], "tenant-a")
    assert (low.priority, low.tags, low.concurrency_key) == ("low", ["tenant-b", "billing"], None)
    assert (plain.priority, plain.tags, plain.concurrency_key) == ("normal", None, None)

    async def listed(store: Any, tags: list[str]) -> list[int]:
        return [summary.id for summary in await store.runs.page(limit=10, offset=0, **run_filter(tags))]

    def run_filter(tags: list[str]) -> dict[str, Any]:
        return {
            "job_id": None,
            "statuses": None,
            "handler_name": None,
            "from_date": None,
            "to_date": None,
            "tags": tags,
        }

    assert harness.with_store(lambda s: listed(s, ["billing"])) == [low.id, high.id]
    assert harness.with_store(lambda s: listed(s, ["billing", "tenant-a"])) == [high.id]
    assert harness.with_store(lambda s: listed(s, ["tenant-c"])) == []
    assert harness.with_store(lambda s: s.runs.count(**run_filter(["billing"]))) == 2


# bad values ------------------------------------------------------------------------------------

BAD_VALUES = [
    ({"idempotency_key": ""}, "idempotency_key: String should have at least 1 character"),
    ({"idempotency_key": "k" * 201}, "idempotency_key: String should have at most 200 characters"),
    ({"idempotency_ttl_seconds": 60}, "idempotency_ttl_seconds: only with idempotency_key"),
    (
        {"idempotency_key": "k", "idempotency_ttl_seconds": 0},
        "idempotency_ttl_seconds: Input should be greater",
    ),
    ({"priority": "urgent"}, "priority: Input should be 'high', 'normal' or 'low'"),
    ({"tags": "billing"}, "tags: Input should be a valid list of strings"),
    ({"tags": [str(n) for n in range(11)]}, "tags: List should have at most 10 items"),
    ({"tags": ["ok", "t" * 65]}, "tags[1]: String should have at most 64 characters"),
    ({"tags": [7]}, "tags[0]: Input should be a valid string"),
    ({"delay_seconds": -1}, "delay_seconds: Input should be greater than or equal to 0"),
    ({"delay_seconds": 366 * 86400}, "delay_seconds: Input should be less than or equal to 31536000"),
    ({"delay_seconds": "60"}, "delay_seconds: Input should be a valid integer"),
    ({"run_at": "2026-12-07T12:00:00"}, "run_at: Input should have a time zone offset"),
    ({"run_at": "tomorrow"}, "run_at: Input should be an ISO 8601 date and time string"),
    ({"run_at": (T0 + timedelta(days=400)).isoformat()}, "run_at: should be at most a year from now"),
    ({"run_at": T0.isoformat(), "delay_seconds": 5}, "delay_seconds: give run_at or delay_seconds, not both"),
    ({"ttl_seconds": 0}, "ttl_seconds: Input should be greater than or equal to 1"),
    (
        {"ttl_seconds": 60, "expires_at": T0.isoformat()},
        "ttl_seconds: give expires_at or ttl_seconds, not both",
    ),
    ({"ttl_seconds": 60, "delay_seconds": 120}, "ttl_seconds: the run would expire before it may start"),
    ({"concurrency_key": "c" * 201}, "concurrency_key: String should have at most 200 characters"),
    ({"concurrency_key": "tenant\n7"}, "concurrency_key: String should match pattern"),
]


def test_bad_flow_control_values_are_rejected_naming_the_field_beside_a_good_record(harness: Harness) -> None:
    records = [kafka_record(n, request(**fields)) for n, (fields, _) in enumerate(BAD_VALUES, start=1)]
    good = kafka_record(100, request(idempotency_key="fine", priority="low", tags=["ok"], delay_seconds=0))
    report = dispatch(harness, *records, good)
    assert len(report["rejected"]) == len(BAD_VALUES)
    reasons = {
        r.source_offset: r.reason for r in harness.with_store(lambda s: s.rejected_records.list_recent())
    }
    for n, (fields, reason) in enumerate(BAD_VALUES, start=1):
        assert reasons[n].startswith(reason), (fields, reasons[n])
    assert harness.drain_queue() == 1
    assert [(r.source_offset, r.status) for r in harness.executions()] == [(100, "SUCCESS")]


def test_the_admin_api_lists_runs_by_every_given_tag(harness: Harness, admin: AdminClient) -> None:
    dispatch(
        harness,
        kafka_record(1, request(tags=["tenant-a", "billing"], priority="high")),
        kafka_record(2, request(tags=["tenant-b", "billing"])),
        kafka_record(3, request()),
    )
    first, second, _ = harness.executions()

    def listed(**query: Any) -> list[tuple[int, str, Any]]:
        answer = admin.get("/api/jobs", query=query)
        assert answer.status == 200, answer.json
        return [(run["id"], run["priority"], run["tags"]) for run in answer.json["items"]]

    assert listed(tag="billing") == [
        (second.id, "normal", ["tenant-b", "billing"]),
        (first.id, "high", ["tenant-a", "billing"]),
    ]
    assert listed(tag=["billing", "tenant-a"]) == [(first.id, "high", ["tenant-a", "billing"])]
    assert admin.get("/api/jobs", query={"tag": ["billing", "tenant-a"]}).json["total"] == 1
    assert listed(tag="nobody") == []
    # the statistics read the same filter: a comma-joined value is the repeated parameter API Gateway passes
    counts = admin.get("/api/stats/status-counts", query={"tag": "billing,tenant-a"})
    assert counts.status == 200, counts.json
    assert counts.json["total"] == 1
    timeline = admin.get("/api/stats/timeline", query={"tag": ["billing"], "from_date": T0.isoformat()})
    assert sum(bucket["runs"] for bucket in timeline.json["buckets"]) == 2
    refused = admin.get("/api/jobs", query={"tag": "x" * 65})
    assert refused.status == 400
    assert refused.json["detail"][0]["loc"] == ["query", "tag", 0]


# cron jobs -------------------------------------------------------------------------------------


def test_a_cron_jobs_runs_carry_its_priority_ttl_tags_and_concurrency_key(harness: Harness) -> None:
    spec = CronJobSpec.model_validate(
        {
            "name": "tenant-report",
            "cron_expression": "* * * * *",
            "handler_name": "sample",
            "priority": "low",
            "ttl_seconds": 120,
            "tags": ["reports", "tenant-a"],
            "concurrency_key": "tenant-a",
        }
    )

    async def create(store: Any) -> int:
        job = await cron_jobs.create(
            store,
            spec,
            known_handlers=known_handler_names(),
            worker_timeouts=WORKER_TIMEOUTS,
            now=T0,
            actor=TEST_ACTOR,
        )
        assert (job.priority, job.ttl_seconds, job.tags, job.concurrency_key) == (
            "low",
            120,
            ["reports", "tenant-a"],
            "tenant-a",
        )
        return job.id

    job_id = harness.with_store(create)
    tick = T0 + timedelta(minutes=1)
    harness.tick(tick)
    (scheduled,) = harness.executions()
    assert (scheduled.priority, scheduled.tags, scheduled.concurrency_key) == (
        "low",
        ["reports", "tenant-a"],
        "tenant-a",
    )
    assert scheduled.expires_at == tick + timedelta(seconds=120)

    async def run_now(store: Any) -> Execution:
        queue = WorkQueue(sqs_client=harness.sqs, queue_url=harness.queue_url)
        result = await cron_jobs.run_now(
            store,
            queue,
            job_id,
            RunNowRequest(),
            known_handlers=known_handler_names(),
            now=tick,
            actor=TEST_ACTOR,
        )
        return result.run

    manual = harness.with_store(run_now)
    assert (manual.priority, manual.tags, manual.expires_at) == (
        "low",
        ["reports", "tenant-a"],
        tick + timedelta(seconds=120),
    )

    # a changed job: its next runs carry the change; a TTL past makes the next tick's sweeper expire them
    async def update(store: Any) -> None:
        changes = CronJobUpdate(priority="high", tags=["reports"], ttl_seconds=30)
        await cron_jobs.update(
            store,
            job_id,
            changes,
            known_handlers=known_handler_names(),
            worker_timeouts=WORKER_TIMEOUTS,
            now=tick,
            actor=TEST_ACTOR,
        )

    harness.with_store(update)
    later = tick + timedelta(minutes=1)
    harness.tick(later)
    newest = harness.executions()[-1]
    assert (newest.priority, newest.tags, newest.expires_at) == (
        "high",
        ["reports"],
        later + timedelta(seconds=30),
    )
    harness.tick(later + timedelta(minutes=1))
    assert harness.with_store(lambda s: s.runs.get(newest.id)).status == "EXPIRED"


def test_a_cron_job_refuses_bad_run_fields(harness: Harness) -> None:
    base = {"name": "bad", "cron_expression": "* * * * *", "handler_name": "sample"}
    for fields, where in [
        ({"priority": "urgent"}, ("priority",)),
        ({"ttl_seconds": 0}, ("ttl_seconds",)),
        ({"tags": ["a,b"]}, ("tags", 0)),
        ({"tags": [str(n) for n in range(11)]}, ("tags",)),
        ({"concurrency_key": "k" * 201}, ("concurrency_key",)),
    ]:
        with pytest.raises(ValidationError) as refused:
            CronJobSpec.model_validate({**base, **fields})
        assert refused.value.errors()[0]["loc"] == where
