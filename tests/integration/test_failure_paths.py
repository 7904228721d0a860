"""Failure paths of issue 2, through the real Lambda entry points, on every backend.

Each test asserts the database state afterwards.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
from botocore.client import BaseClient
from botocore.exceptions import EndpointConnectionError

from jobu.config import RetryPolicy, SweepPolicy
from jobu.cron_dispatch import run_tick
from jobu.handler_manifest import known_handler_names
from jobu.handlers import BaseHandler, HandlerParams, HandlerResult, handler
from jobu.operations.cron_jobs import create as create_cron_job
from jobu.specs import CronJobSpec
from jobu.store import open_store
from jobu.work_queue import WorkQueue
from tests.conftest import WORKER_TIMEOUTS, load_event
from tests.support.harness import REQUEUE_GRACE, REQUEUE_STUCK_AFTER, Harness, run, work_message
from tests.support.principals import TEST_ACTOR


@handler("test_counting")
class Counting(BaseHandler):
    calls: ClassVar[Counter[int]] = Counter()
    lock = threading.Lock()

    async def execute(self, params: HandlerParams) -> HandlerResult:
        with self.lock:
            self.calls[self.context.execution_id] += 1
        return HandlerResult(action="count", count=self.calls[self.context.execution_id])


@handler("test_failing")
class Failing(BaseHandler):
    async def execute(self, params: HandlerParams) -> HandlerResult:
        raise RuntimeError(f"disk full on attempt {self.context.retry_count}")


@handler("test_slow")
class Slow(BaseHandler):
    async def execute(self, params: HandlerParams) -> HandlerResult:
        await asyncio.sleep(float(params.value))
        return HandlerResult(action="slept")


# A minute boundary near the real clock: the dispatcher checks ticks against the clock, and the
# queues' message retention (4 days) makes moto drop messages sent from a far-away time.
TICK = datetime.now(UTC).replace(second=0, microsecond=0)
POLICY = SweepPolicy(grace=REQUEUE_GRACE, stuck_after=REQUEUE_STUCK_AFTER)
RETRY = RetryPolicy(base=timedelta(seconds=10), max=timedelta(seconds=900))
KNOWN = known_handler_names() | {"test_counting", "test_failing", "test_slow"}


def add_cron_job(harness: Harness, name: str, handler_name: str, **spec: Any) -> int:
    async def create(store: Any) -> int:
        job = await create_cron_job(
            store,
            CronJobSpec.model_validate(
                {"name": name, "cron_expression": "* * * * *", "handler_name": handler_name, **spec}
            ),
            known_handlers=KNOWN,
            worker_timeouts=WORKER_TIMEOUTS,
            now=TICK - timedelta(minutes=1),
            actor=TEST_ACTOR,
        )
        return job.id

    return harness.with_store(create)


def test_cron_tick_runs_due_job_end_to_end(harness: Harness) -> None:
    job_id = add_cron_job(harness, "echo", "sample", handler_params={"name": "from cron"})
    report = harness.tick(TICK)
    assert len(report["dispatched"]) == 1
    assert harness.drain_queue() == 1
    (run,) = harness.executions()
    assert (run.job_id, run.status, run.param_source, run.scheduled_time) == (job_id, "SUCCESS", "cron", TICK)
    assert run.result["data"]["name"] == "from cron"


def test_duplicate_sqs_delivery_runs_handler_once(harness: Harness) -> None:
    Counting.calls.clear()
    add_cron_job(harness, "counting", "test_counting")
    harness.tick(TICK)
    (message,) = harness.receive()
    # the same message delivered twice in one batch, then once more later
    response = harness.invoke_worker([message, {**message, "MessageId": "copy"}])
    assert response == {"batchItemFailures": []}
    assert harness.invoke_worker([message]) == {"batchItemFailures": []}
    (run,) = harness.executions()
    assert Counting.calls[run.id] == 1
    assert (run.status, run.result["count"]) == ("SUCCESS", 1)


def test_concurrent_dispatchers_for_one_tick_create_one_run_per_job(harness: Harness) -> None:
    for n in range(3):
        add_cron_job(harness, f"job-{n}", "sample")

    async def two_invocations() -> list[Any]:
        # two dispatcher invocations = two containers: each its own connection and queue client
        stores = [await open_store(harness.database_url) for _ in range(2)]
        queue = WorkQueue(sqs_client=harness.sqs, queue_url=harness.queue_url)
        try:
            return list(
                await asyncio.gather(
                    *(
                        run_tick(store, queue, tick_time=TICK, now=TICK, policy=POLICY, retry_policy=RETRY)
                        for store in stores
                    )
                )
            )
        finally:
            for store in stores:
                await store.close()

    reports = run(two_invocations())
    runs = harness.executions()
    assert len(runs) == 3
    assert sorted(run.job_id for run in runs) == sorted({run.job_id for run in runs})
    assert sorted(i for report in reports for i in report.dispatched) == sorted(run.id for run in runs)
    assert len(harness.receive()) == 3


def test_send_failure_after_insert_is_resent_on_next_tick(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_cron_job(harness, "echo", "sample")

    real_call = BaseClient._make_api_call

    def sqs_down(client: BaseClient, operation: str, params: Any) -> Any:
        if operation == "SendMessageBatch":
            raise EndpointConnectionError(endpoint_url="https://sqs.us-east-1.amazonaws.com")
        return real_call(client, operation, params)

    with monkeypatch.context() as patched:
        patched.setattr(BaseClient, "_make_api_call", sqs_down)
        report = harness.tick(TICK)
    assert report["dispatched"] == []
    assert len(report["unsent"]) == 1
    (run,) = harness.executions()
    assert (run.status, run.queued_at) == ("PENDING", None)
    assert harness.receive() == []

    # too soon: the sender of a fresh row may still be at work
    assert harness.tick(TICK + REQUEUE_GRACE - timedelta(seconds=1))["sweep"]["requeued"] == []
    report = harness.tick(TICK + REQUEUE_GRACE + timedelta(seconds=1))
    assert report["sweep"]["requeued"] == [run.id]
    assert harness.drain_queue() >= 1
    finished = harness.executions()[0]
    assert finished.id == run.id
    assert finished.status == "SUCCESS"
    assert finished.queued_at is not None


def test_same_kafka_batch_twice_creates_no_new_rows(harness: Harness) -> None:
    event = load_event("queue_dispatcher_msk.json")
    first = harness.invoke_queue(event)
    assert len(first["dispatched"]) == 3
    second = harness.invoke_queue(event)
    assert second["dispatched"] == []
    runs = harness.executions()
    assert len(runs) == 3
    assert {(r.source_topic, r.source_partition, r.source_offset) for r in runs} == {
        ("jobu-events", 0, 100),
        ("jobu-events", 0, 101),
        ("jobu-events", 1, 7),
    }
    assert harness.drain_queue() == 3
    assert {r.status for r in harness.executions()} == {"SUCCESS"}


def test_bad_kafka_records_are_kept_with_reasons_and_good_ones_run(harness: Harness) -> None:
    report = harness.invoke_queue(load_event("queue_dispatcher_bad_records.json"))
    assert len(report["rejected"]) == 4
    rejected = harness.with_store(lambda s: s.rejected_records.list_recent())
    reasons = {r.source_offset: r.reason for r in rejected}
    assert reasons[200].startswith("value is not JSON")
    assert reasons[201] == "handler_name is missing"
    assert reasons[202] == "unknown handler 'no_such_handler'"
    assert reasons[203].startswith("params must be a JSON object")
    assert {r.source_offset: r.raw_value for r in rejected}[200] == "this is not json"
    harness.drain_queue()
    (run,) = harness.executions()
    assert (run.source_offset, run.status, run.params) == (204, "SUCCESS", {"name": "the good one"})
    # redelivery keeps one copy of each rejection
    harness.invoke_queue(load_event("queue_dispatcher_bad_records.json"))
    assert len(harness.with_store(lambda s: s.rejected_records.list_recent())) == 4


def test_event_params_merge_over_cron_job_base(harness: Harness) -> None:
    job_id = add_cron_job(
        harness, "base", "sample", handler_params={"name": "base", "value": 1, "keep": True}
    )
    event = load_event("queue_dispatcher_msk.json")
    harness.invoke_queue(event)
    by_offset = {r.source_offset: r for r in harness.executions()}
    assert by_offset[100].params == {"name": "hello", "action": "read", "value": 1, "keep": True}
    assert by_offset[100].job_id == job_id
    assert by_offset[101].job_id is None  # sample1 has no cron job: the event's params alone


def test_failing_handler_is_retried_then_failed(harness: Harness) -> None:
    add_cron_job(harness, "flaky", "test_failing", max_retry=2)
    harness.tick(TICK)
    # SQS delays retries (10 s, 20 s); moto honours DelaySeconds, so wait on the database state
    outcomes = []
    for _ in range(3):
        outcomes.append(_drain_one(harness))
    (run,) = harness.executions()
    assert outcomes == ["RETRYING", "RETRYING", "FAILED"]
    assert (run.status, run.retry_count) == ("FAILED", 2)
    assert run.error_message == "RuntimeError: disk full on attempt 2"


def _drain_one(harness: Harness) -> str:
    (run,) = harness.executions()
    message = work_message(run.id, attempt=run.retry_count)
    harness.invoke_worker([message])
    after = harness.executions()[0]
    return "RETRYING" if after.status == "PENDING" else after.status


def test_handler_past_its_timeout_is_marked_timeout(harness: Harness) -> None:
    add_cron_job(harness, "slow", "test_slow", timeout_seconds=1, handler_params={"value": 30})
    harness.tick(TICK)
    harness.drain_queue()
    (run,) = harness.executions()
    assert (run.status, run.error_message) == ("TIMEOUT", "timed out after 1s")


def test_lambda_remaining_time_bounds_the_handler(harness: Harness) -> None:
    add_cron_job(harness, "slow", "test_slow", timeout_seconds=600, handler_params={"value": 30})
    harness.tick(TICK)
    (run,) = harness.executions()
    # 6.5 s left in the invocation, 5 s kept back for storing the outcome: 1.5 s for the handler
    harness.invoke_worker([work_message(run.id)], remaining_ms=6_500)
    assert harness.executions()[0].status == "TIMEOUT"
    assert harness.executions()[0].error_message == "timed out after 1.5s"


def test_too_little_time_left_leaves_the_message_for_redelivery(harness: Harness) -> None:
    add_cron_job(harness, "echo", "sample")
    harness.tick(TICK)
    (run,) = harness.executions()
    message = work_message(run.id)
    response = harness.invoke_worker([message], remaining_ms=3_000)
    assert response == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
    assert harness.executions()[0].status == "PENDING"


def test_run_left_running_by_a_dead_container_is_timed_out_and_retried(harness: Harness) -> None:
    add_cron_job(harness, "echo", "sample", max_retry=1)
    harness.tick(TICK)
    (run,) = harness.executions()
    claimed_at = datetime.now(UTC)

    async def die_mid_run(store: Any) -> None:
        # what a worker does before running, and then nothing: its container died
        await store.runs.claim(
            run.id, attempt=0, now=claimed_at, deadline_at=claimed_at + timedelta(seconds=5)
        )

    harness.with_store(die_mid_run)
    report = harness.tick(claimed_at + timedelta(seconds=6))
    assert report["sweep"]["abandoned"] == [run.id]
    retried = harness.executions()[0]
    assert (retried.status, retried.retry_count) == ("PENDING", 1)
    assert retried.error_message.startswith("the worker stopped before the run finished")

    harness.with_store(die_mid_run_again := _claim_attempt(run.id, 1, claimed_at))
    del die_mid_run_again
    harness.tick(claimed_at + timedelta(seconds=6))
    final = harness.executions()[0]
    assert (final.status, final.retry_count) == ("TIMEOUT", 1)


def _claim_attempt(execution_id: int, attempt: int, at: datetime) -> Any:
    async def claim(store: Any) -> None:
        assert await store.runs.claim(
            execution_id, attempt=attempt, now=at, deadline_at=at + timedelta(seconds=5)
        )

    return claim


def test_database_unreachable_reports_the_message_as_failed(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.worker import app as worker_app

    worker_app.container.reset()
    monkeypatch.setenv("JOBU_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    ok, bad = work_message(1), work_message(2)
    response = harness.invoke_worker([ok, bad])
    assert response == {
        "batchItemFailures": [{"itemIdentifier": ok["MessageId"]}, {"itemIdentifier": bad["MessageId"]}]
    }


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not a work message", "not a work message: body: Invalid JSON"),
        (
            '{"execution_id": "1", "attempt": 0}',
            "not a work message: execution_id: Input should be a valid integer",
        ),
        ('{"execution_id": 1}', "not a work message: attempt: Field required"),
        ('{"execution_id": 1, "attempt": -1}', "not a work message: attempt: Input should be greater than"),
    ],
)
def test_a_message_that_can_never_be_parsed_is_dead_lettered_at_once(
    harness: Harness, body: str, reason: str
) -> None:
    add_cron_job(harness, "echo", "sample")
    harness.tick(TICK)
    (good,) = harness.receive()
    garbage = {"MessageId": "garbage", "Body": body}
    response = harness.invoke_worker([good, garbage])
    # not redelivered (it could never succeed): deleted from the work queue, kept in the DLQ
    assert response == {"batchItemFailures": []}
    assert harness.executions()[0].status == "SUCCESS"
    (kept,) = harness.sqs.receive_message(QueueUrl=harness.dead_letter_url, MessageAttributeNames=["All"])[
        "Messages"
    ]
    assert kept["Body"] == body
    assert kept["MessageAttributes"]["jobu_reason"]["StringValue"].startswith(reason)
    assert kept["MessageAttributes"]["jobu_source_message_id"]["StringValue"] == "garbage"


def test_why_a_message_goes_back_is_logged_at_warning(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from functions.worker import app as worker_app

    worker_app.container.reset()
    monkeypatch.setenv("JOBU_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    message = work_message(1)
    assert harness.invoke_worker([message])["batchItemFailures"] == [{"itemIdentifier": message["MessageId"]}]
    (warning,) = [
        r for r in caplog.records if r.getMessage() == "message returned to the queue for redelivery"
    ]
    assert (warning.levelname, warning.__dict__["message_id"]) == ("WARNING", message["MessageId"])
    assert warning.__dict__["reason"].startswith("StoreUnavailableError: PostgreSQL is unreachable")


@pytest.mark.parametrize(
    ("handler_name", "params", "error"),
    [
        # a handler removed from the worker after the run was dispatched
        ("retired_handler", {}, "no handler is registered under 'retired_handler'"),
        ("sample", {"id": "not a number"}, "invalid params: params.id must be integer or null"),
        # a strict handler's schema, checked again by the worker (fastjsonschema, no pydantic)
        ("sample2", {"bogus": 1}, "invalid params: params must not contain {'bogus'} properties"),
        (
            "sample9",
            {"series_rows": 0},
            "invalid params: params.series_rows must be bigger than or equal to 1",
        ),
        ("sample", {"on_success": ["sample"]}, "invalid params: on_success must be an object"),
        ("sample", {"on_success": {"handler_name": "nope"}}, "no handler is registered under 'nope'"),
        # another pool's handler, its message sent to this pool's queue (a hand-made message, a
        # redrive to the wrong queue)
        (
            "pandas_preprocess",
            {"input_path": "in.csv", "output_path": "out.parquet"},
            "handler 'pandas_preprocess' runs in pool 'pipeline', not in this worker's pool 'default'",
        ),
    ],
)
def test_runs_that_cannot_succeed_fail_at_once_despite_retries(
    harness: Harness, handler_name: str, params: dict[str, Any], error: str
) -> None:
    execution_id = harness.insert_event_run(handler_name, params, max_retry=3)
    assert harness.invoke_worker([work_message(execution_id)]) == {"batchItemFailures": []}
    (run,) = harness.executions()
    assert (run.status, run.retry_count, run.max_retry) == ("FAILED", 0, 3)
    assert run.error_message is not None
    assert run.error_message.startswith(error)
