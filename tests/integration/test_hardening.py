"""Defects found by fault injection (issue 8), each replayed deterministically through the real
entry points on PostgreSQL, MariaDB and SQLite, with the database state asserted afterwards."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
from botocore.client import BaseClient
from botocore.exceptions import EndpointConnectionError

from jobu.errors import StoreUnavailableError
from jobu.handlers import BaseHandler, HandlerParams, HandlerResult, handler
from jobu.store.runs import Runs
from tests.support.harness import (
    REQUEUE_GRACE,
    REQUEUE_STUCK_AFTER,
    Harness,
    job_message,
    kafka_record,
    msk_event,
    work_message,
)


@handler("test_fail_first_attempt")
class FailFirstAttempt(BaseHandler):
    async def execute(self, params: HandlerParams) -> HandlerResult:
        if self.context.retry_count == 0:
            raise RuntimeError("first attempt fails")
        return HandlerResult(action="ok")


def sqs_send_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    real_call = BaseClient._make_api_call

    def fail(client: BaseClient, operation: str, params: Any) -> Any:
        if operation in ("SendMessage", "SendMessageBatch"):
            raise EndpointConnectionError(endpoint_url="https://sqs.us-east-1.amazonaws.com")
        return real_call(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", fail)


def test_a_repeated_offset_in_one_batch_is_dispatched_once(harness: Harness) -> None:
    event = msk_event(
        kafka_record(7, job_message(name="seven")),
        kafka_record(8, job_message(name="eight")),
        kafka_record(7, job_message(name="seven again")),
    )
    report = harness.invoke_queue(event)
    assert (len(report["dispatched"]), report["duplicates"], report["unsent"]) == (2, 1, [])
    runs = harness.executions()
    assert [(r.source_offset, r.params["name"]) for r in runs] == [(7, "seven"), (8, "eight")]
    assert all(r.queued_at is not None for r in runs)
    assert len(harness.receive()) == 2
    # the whole batch again, as the mapping redelivers it: nothing new
    again = harness.invoke_queue(event)
    assert (again["dispatched"], again["rejected"]) == ([], [])
    assert len(harness.executions()) == 2


def test_a_late_mark_for_attempt_0_never_strands_attempt_1(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the dispatcher: row written, message for attempt 0 sent, but its mark_queued not made yet
    execution_id = harness.insert_event_run("test_fail_first_attempt", {}, max_retry=1)
    harness.sqs.send_message(QueueUrl=harness.queue_url, MessageBody=work_message(execution_id)["Body"])
    # a worker runs attempt 0 at once; it fails; the message for attempt 1 never leaves the worker
    with monkeypatch.context() as patched:
        sqs_send_fails(patched)
        assert harness.invoke_worker([work_message(execution_id, 0)]) == {"batchItemFailures": []}
    # now the dispatcher's late mark for attempt 0
    harness.with_store(lambda store: store.runs.mark_queued([(execution_id, 0)], now=datetime.now(UTC)))
    (run,) = harness.executions()
    assert (run.status, run.retry_count, run.queued_at) == ("PENDING", 1, None)

    # so the sweeper still sees attempt 1 as unsent, and sends it once it is due
    report = harness.tick(run.available_at + REQUEUE_GRACE + timedelta(seconds=1))
    assert report["sweep"]["requeued"] == [execution_id]
    harness.drain_queue()
    (done,) = harness.executions()
    assert (done.status, done.retry_count) == ("SUCCESS", 1)


BAD_VALUES: list[tuple[bytes | None, str]] = [
    (b'{"handler_name": "sample", "params": {"a": "\\u0000"}}', "contains a NUL character"),
    (b'{"handler_name": "sample", "params": {"a": "\\ud83d"}}', "contains a lone surrogate"),
    (b'{"handler_name": "sample", "params": {"a": ' + b"[" * 5000 + b"]" * 5000 + b"}}", "nested"),
    (b'{"handler_name": "sample", "params": {"a": 1e999}}', "not a JSON number"),
    (b"\x00\xff binary", "value is not UTF-8 text"),
    (None, "record has no value (a tombstone)"),
]


def test_no_record_poisons_its_batch(harness: Harness) -> None:
    good = [kafka_record(offset, job_message(n=offset)) for offset in (1, 3, 5)]
    bad = [kafka_record(10 + i, value) for i, (value, _) in enumerate(BAD_VALUES)]
    broken_envelopes: list[dict[str, Any]] = [
        {**kafka_record(30, job_message()), "offset": 30.5},
        {**kafka_record(31, job_message()), "partition": "0"},
        {**kafka_record(32, job_message()), "offset": 2**63},
        {key: value for key, value in kafka_record(33, job_message()).items() if key != "topic"},
    ]
    event = msk_event(good[0], *bad[:3], good[1], *bad[3:], *broken_envelopes, good[2])
    report = harness.invoke_queue(event)
    assert report["records"] == 3 + len(BAD_VALUES) + len(broken_envelopes)
    assert (len(report["dispatched"]), len(report["rejected"])) == (
        3,
        len(BAD_VALUES) + len(broken_envelopes),
    )

    rejected = {
        r.source_offset: r for r in harness.with_store(lambda s: s.rejected_records.list_recent(limit=50))
    }
    for i, (value, reason) in enumerate(BAD_VALUES):
        row = rejected[10 + i]
        assert reason in row.reason
        kept = (
            None
            if row.raw_encoding == "none"
            else (base64.b64decode(row.raw_value) if row.raw_encoding == "base64" else row.raw_value.encode())
        )
        assert kept == value  # the raw bytes, faithfully
    unkeyed = rejected[None]  # broken envelopes have no coordinates, only a digest key
    assert unkeyed.record_key.startswith("sha256:")
    digests = [
        r
        for r in harness.with_store(lambda s: s.rejected_records.list_recent(limit=50))
        if r.source_offset is None
    ]
    assert len(digests) == len(broken_envelopes)
    assert {json.loads(r.raw_value)["offset"] for r in digests if "offset" in json.loads(r.raw_value)} >= {
        30.5
    }

    harness.drain_queue()
    assert [(r.source_offset, r.status) for r in harness.executions()] == [
        (1, "SUCCESS"),
        (3, "SUCCESS"),
        (5, "SUCCESS"),
    ]
    # redelivery of the whole batch adds nothing
    harness.invoke_queue(event)
    assert len(harness.with_store(lambda s: s.rejected_records.list_recent(limit=50))) == len(
        BAD_VALUES
    ) + len(broken_envelopes)
    assert len(harness.executions()) == 3


@pytest.mark.parametrize(
    "event",
    [
        {"scheduled_time": "2999-01-01T00:00:00Z"},
        {"scheduled_time": "0001-01-01T00:00:00Z"},
        {"scheduled_time": "9999-12-31T23:59:59-05:00"},
        {"source": "aws.s3", "detail-type": "Object Created", "time": "2026-11-30T10:00:00Z"},
    ],
)
def test_a_schedule_event_that_can_never_succeed_is_answered_and_changes_nothing(
    harness: Harness, event: dict[str, Any]
) -> None:
    from tests.integration.test_failure_paths import add_cron_job

    add_cron_job(harness, "every-minute", "sample")
    before = harness.cron_jobs()
    response = harness.invoke_cron(event)
    assert set(response) == {"refused"}
    assert harness.cron_jobs() == before
    assert harness.executions() == []


@handler("test_tx_write_then_fail")
class WriteThenFail(BaseHandler):
    """Writes to sample_items through the run's transaction, then fails."""

    transactional = True

    async def execute(self, params: HandlerParams) -> HandlerResult:
        from jobu_handlers.samples import CreateSampleItem

        await CreateSampleItem(self.context).execute(HandlerParams(name="should vanish"))
        raise RuntimeError("failed after writing")


@handler("test_idempotency_key")
class RecordsItsKey(BaseHandler):
    keys: ClassVar[list[tuple[int, int, str]]] = []

    async def execute(self, params: HandlerParams) -> HandlerResult:
        self.keys.append((self.context.execution_id, self.context.retry_count, self.context.idempotency_key))
        if self.context.retry_count == 0:
            raise RuntimeError("fail the first attempt")
        return HandlerResult()


def sample_item_names(harness: Harness) -> list[str]:
    async def names(store: Any) -> list[str]:
        async with store.connector.connection() as conn:
            from jobu_handlers.samples import SQL_DIR

            rows = [dict(r) async for r in store.connector.queries(SQL_DIR).list_items(conn, limit=100)]
        return sorted(str(r["name"]) for r in rows)

    return harness.with_store(names)


def test_a_dropped_connection_between_the_write_and_success_leaves_neither(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    execution_id = harness.insert_event_run("sample1", {"name": "exactly once"}, max_retry=1)
    real_finish = Runs.finish

    async def connection_drops(self: Runs, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("conn") is not None:  # the transactional handler's commit never happens
            raise StoreUnavailableError("PostgreSQL is unreachable: connection was closed in the middle")
        return await real_finish(self, *args, **kwargs)

    message = work_message(execution_id)
    with monkeypatch.context() as patched:
        patched.setattr(Runs, "finish", connection_drops)
        assert harness.invoke_worker([message]) == {
            "batchItemFailures": [{"itemIdentifier": message["MessageId"]}]
        }
    (run,) = harness.executions()
    assert run.status == "RUNNING"
    assert sample_item_names(harness) == []  # the write went with the transaction
    assert harness.invoke_worker([message]) == {"batchItemFailures": []}  # redelivered: a duplicate now

    # the sweeper finds it past its deadline and retries it; the retry writes once and succeeds
    assert run.deadline_at is not None
    report = harness.tick(run.deadline_at + timedelta(seconds=1))
    assert report["sweep"]["abandoned"] == [execution_id]
    harness.invoke_worker([work_message(execution_id, attempt=1)])
    (done,) = harness.executions()
    assert (done.status, done.retry_count) == ("SUCCESS", 1)
    assert sample_item_names(harness) == ["exactly once"]


def test_a_transactional_handler_that_fails_commits_nothing(harness: Harness) -> None:
    execution_id = harness.insert_event_run("test_tx_write_then_fail", {})
    assert harness.invoke_worker([work_message(execution_id)]) == {"batchItemFailures": []}
    (run,) = harness.executions()
    assert (run.status, run.error_message) == ("FAILED", "RuntimeError: failed after writing")
    assert sample_item_names(harness) == []


def test_the_idempotency_key_is_stable_across_retries_and_unique_per_run(harness: Harness) -> None:
    RecordsItsKey.keys.clear()
    first = harness.insert_event_run("test_idempotency_key", {}, max_retry=1)
    second = harness.insert_event_run("test_idempotency_key", {}, max_retry=1)
    for attempt in (0, 1):
        harness.invoke_worker([work_message(first, attempt), work_message(second, attempt)])
    keys = {(run, attempt): key for run, attempt, key in RecordsItsKey.keys}
    assert keys[(first, 0)] == keys[(first, 1)]
    assert keys[(second, 0)] == keys[(second, 1)]
    assert keys[(first, 0)] != keys[(second, 0)]
    assert [r.status for r in harness.executions()] == ["SUCCESS", "SUCCESS"]


def test_a_message_lost_after_it_was_sent_is_sent_again(harness: Harness) -> None:
    report = harness.invoke_queue(msk_event(kafka_record(1, job_message(name="lost"))))
    (execution_id,) = report["dispatched"]
    harness.sqs.purge_queue(QueueUrl=harness.queue_url)  # or dead-lettered: either way, gone
    (run,) = harness.executions()
    assert (run.status, run.queued_at is not None) == ("PENDING", True)
    assert run.queued_at is not None
    assert harness.tick(run.queued_at + REQUEUE_STUCK_AFTER - timedelta(seconds=1))["sweep"]["requeued"] == []
    later = run.queued_at + REQUEUE_STUCK_AFTER + timedelta(seconds=1)
    assert harness.tick(later)["sweep"]["requeued"] == [execution_id]
    assert harness.tick(later + timedelta(minutes=1))["sweep"]["requeued"] == []  # not every tick
    harness.drain_queue()
    assert harness.executions()[0].status == "SUCCESS"
