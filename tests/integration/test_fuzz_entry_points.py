"""Property-based fuzzing of the three entry points (hypothesis), on every backend.

Invariants: no invocation raises (only an unreachable database may fail one, and the database
is up here); every Kafka record is accounted for, as a run or a rejected record; every SQS body
is either processed or kept in the dead-letter queue; no scheduler event moves a job past the
clock. Example counts are bounded so CI stays fast (JOBU_FUZZ_EXAMPLES raises them).
"""

from __future__ import annotations

import itertools
import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobu.schedule_event import MAX_TICK_LEAD
from tests.support.harness import Harness, kafka_record, msk_event

EXAMPLES = int(os.environ.get("JOBU_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    # one harness (database, queues) serves every example; the invariants are deltas per example
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

_offsets = itertools.count(1_000)

json_scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text()
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
handler_names = st.sampled_from(["sample", "sample1", "sample2", "nope", ""]) | st.text(max_size=12)
job_messages = st.fixed_dictionaries(
    {"handler_name": handler_names},
    optional={"params": json_values, "job_id": st.none() | st.integers(-5, 2**64) | st.text(max_size=3)},
)


def _deep(levels: int) -> bytes:
    return b'{"handler_name": "sample", "params": {"a": ' + b"[" * levels + b"]" * levels + b"}}"


values = st.one_of(
    st.none(),  # a tombstone
    st.binary(max_size=64),
    st.text(max_size=64).map(lambda t: t.encode("utf-8", "surrogatepass")),
    job_messages.map(lambda m: json.dumps(m).encode("utf-8", "surrogatepass")),
    json_values.map(lambda v: json.dumps(v).encode("utf-8", "surrogatepass")),
    st.integers(2, 3000).map(_deep),
)
envelope_fields = st.dictionaries(
    st.sampled_from(["value", "key", "headers", "timestamp", "timestampType"]), json_values, max_size=5
)
# a coordinate AWS would never send: each makes the envelope unusable by construction
broken_coordinates = st.one_of(
    st.tuples(
        st.just("topic"), st.none() | st.integers() | st.just("") | st.just("a/b") | st.just("t" * 250)
    ),
    st.tuples(
        st.just("partition"), st.none() | st.text(max_size=3) | st.floats() | st.integers(max_value=-1)
    ),
    st.tuples(
        st.just("offset"), st.none() | st.text(max_size=3) | st.floats() | st.integers(min_value=2**63)
    ),
)


@st.composite
def kafka_items(draw: st.DrawFn) -> tuple[dict[str, Any] | Any, bool]:
    """A record item and whether its coordinates are sound (then it must be findable by them)."""
    kind = draw(st.sampled_from(["sound", "sound", "sound", "broken", "not-an-object"]))
    if kind == "sound":
        return kafka_record(next(_offsets), draw(values), topic="fuzz"), True
    if kind == "broken":
        field, bad = draw(broken_coordinates)
        item = {
            **kafka_record(next(_offsets), draw(values), topic="fuzz"),
            **draw(envelope_fields),
            field: bad,
        }
        return item, False
    return draw(json_values.filter(lambda v: not isinstance(v, dict))), False


@pytest.fixture
def fuzz_harness(harness: Harness) -> Harness:
    return harness


@FUZZ
@given(items=st.lists(kafka_items(), min_size=1, max_size=12), repeat=st.booleans())
def test_queue_dispatcher_accounts_for_every_record(
    fuzz_harness: Harness, items: list[tuple[Any, bool]], repeat: bool
) -> None:
    harness = fuzz_harness
    records = [item for item, _ in items] + ([items[0][0]] if repeat else [])  # a repeat in the batch
    event = msk_event(*[r for r in records if isinstance(r, dict)])
    event["records"]["fuzz-odd"] = [r for r in records if not isinstance(r, dict)]

    report = harness.invoke_queue(event)

    assert report["records"] == len(records)
    where = {item["offset"]: _where(harness, item["offset"]) for item, sound in items if sound}
    assert "lost" not in where.values(), where
    runs = sum(1 for found in where.values() if found == "run")
    # every distinct record is one run or one rejection, and nothing else
    assert len(report["rejected"]) + runs == report["records"] - report["duplicates"]
    assert len(report["dispatched"]) + len(report["unsent"]) == runs


def _where(harness: Harness, offset: int) -> str:
    async def find(store: Any) -> str:
        if any(r.source_offset == offset for r in await store.runs.list_recent(limit=1_000_000)):
            return "run"
        if any(r.source_offset == offset for r in await store.rejected_records.list_recent(limit=1_000_000)):
            return "rejected"
        return "lost"

    return harness.with_store(find)


# what SQS accepts in a message body: tab, newline, carriage return and U+0020 upwards, no surrogates
sqs_text = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]) | st.sampled_from("\t\n\r"),
    min_size=1,
    max_size=80,
)
sqs_bodies = st.one_of(
    sqs_text,
    json_values.map(json.dumps),
    st.fixed_dictionaries(
        {
            "execution_id": json_values | st.integers(-3, 2**64),
            "attempt": json_values | st.integers(-3, 2**40),
        }
    ).map(json.dumps),
)


@FUZZ
@given(bodies=st.lists(sqs_bodies, min_size=1, max_size=10))
def test_worker_processes_or_dead_letters_every_body(fuzz_harness: Harness, bodies: list[str]) -> None:
    harness = fuzz_harness
    messages = [{"MessageId": f"m{i}", "Body": body} for i, body in enumerate(bodies)]
    response = harness.invoke_worker(messages)
    # the database is up: nothing is left for redelivery; what can never parse went to the DLQ
    assert response == {"batchItemFailures": []}
    kept = []
    while batch := harness.sqs.receive_message(QueueUrl=harness.dead_letter_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        kept += batch
        for message in batch:
            harness.sqs.delete_message(
                QueueUrl=harness.dead_letter_url, ReceiptHandle=message["ReceiptHandle"]
            )
    parseable = [b for b in bodies if _is_work_message(b)]
    assert sorted(m["Body"] for m in kept) == sorted(b for b in bodies if not _is_work_message(b))
    assert len(kept) + len(parseable) == len(bodies)


def _is_work_message(body: str) -> bool:
    try:
        document = json.loads(body)
    except ValueError:
        return False
    return (
        isinstance(document, dict)
        and type(document.get("execution_id")) is int
        and type(document.get("attempt")) is int
        and 1 <= document["execution_id"] < 2**63
        and 0 <= document["attempt"] < 2**31
    )


instants = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC) | st.none()
)
time_texts = st.one_of(instants.map(lambda d: d.isoformat()), st.text(max_size=30))
near_now = st.integers(-8 * 3600, 8 * 3600).map(
    lambda s: (datetime.now(UTC) + timedelta(seconds=s)).isoformat()
)
schedule_events = st.one_of(
    st.fixed_dictionaries({"scheduled_time": time_texts | near_now | json_values}),
    st.fixed_dictionaries(
        {
            "source": st.sampled_from(["aws.events", "aws.s3"]),
            "detail-type": st.sampled_from(["Scheduled Event", "x"]),
        },
        optional={"time": time_texts | near_now | json_values},
    ),
    st.dictionaries(st.text(max_size=10), json_values, max_size=4),
    json_values,
)


@FUZZ
@given(event=schedule_events)
def test_cron_dispatcher_never_moves_a_job_past_the_clock(fuzz_harness: Harness, event: Any) -> None:
    from tests.integration.test_failure_paths import add_cron_job

    harness = fuzz_harness
    if not harness.cron_jobs():
        add_cron_job(harness, "fuzz-every-minute", "sample")
    response = harness.invoke_cron(event)
    assert set(response) == {"refused"} or "dispatched" in response
    limit = datetime.now(UTC) + MAX_TICK_LEAD + timedelta(minutes=1)
    for job in harness.cron_jobs():
        assert job.next_run_at is None or job.next_run_at <= limit
    for run in harness.executions():
        assert run.scheduled_time is None or run.scheduled_time <= limit
