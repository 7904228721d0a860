"""Notifications on every backend: a failed run's webhook, signed and received by a server this test
starts on a free port; once per outcome under duplicate deliveries; retried after a failure by the
tick; a rule for one handler silent for another; rules refused when a webhook could be misused."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from jobu import constants
from jobu.errors import InvalidNotificationRuleError
from jobu.handler_manifest import known_handler_names
from jobu.notifications import backoff
from jobu.operations import notification_rules
from jobu.operations.cron_jobs import create as create_cron_job
from jobu.operations.notification_rules import RuleSpec
from jobu.specs import CronJobSpec
from jobu.store import JobStore
from jobu_local.commands.cli import main as jobu
from tests.conftest import WORKER_TIMEOUTS
from tests.support.harness import Harness, kafka_record, msk_event, work_message
from tests.support.principals import TEST_ACTOR

SECRET = "a-secret-of-32-characters-------"
STALE_SECONDS = 300


@dataclass
class Receiver:
    """A webhook receiver on a free loopback port: answers from `answers` (then 204), keeps what came."""

    answers: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    def verified(self, *, fresh: bool = True) -> list[dict[str, Any]]:
        """The bodies whose signature holds with the secret and (`fresh`) whose time is now, as JSON."""
        bodies = []
        for headers, body in self.received:
            parts = dict(part.split("=", 1) for part in headers["x-jobu-signature"].split(","))
            expected = hmac.new(SECRET.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
            assert hmac.compare_digest(parts["v1"], expected), "signature does not verify"
            assert not fresh or abs(time.time() - int(parts["t"])) < STALE_SECONDS
            bodies.append(json.loads(body))
        return bodies


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    monkeypatch.setenv(constants.NOTIFY_LOOPBACK_HTTP, "allow")  # http to loopback, as the local runtime
    kept = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            kept.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(kept.answers.pop(0) if kept.answers else 204)
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    kept.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/jobu"
    yield kept
    server.shutdown()
    server.server_close()


def add_rule(harness: Harness, receiver: Receiver, handler_name: str, statuses: list[str]) -> int:
    spec = RuleSpec.model_validate(
        {"handler_name": handler_name, "statuses": statuses, "webhook_url": receiver.url, "secret": SECRET}
    )

    async def create(store: JobStore) -> int:
        rule = await notification_rules.create(
            store, spec, known_handlers=known_handler_names(), now=datetime.now(UTC), actor=TEST_ACTOR
        )
        return rule.id

    return harness.with_store(create)


def failing_record(offset: int) -> dict[str, Any]:
    # sample4 deletes an item by id: without one it raises, and an event run has no retries
    return kafka_record(offset, json.dumps({"handler_name": "sample4", "params": {"action": "delete"}}))


def test_a_failed_run_notifies_its_rule_once_signed_whatever_repeats(
    harness: Harness, receiver: Receiver
) -> None:
    add_rule(harness, receiver, "sample4", ["FAILED", "TIMEOUT"])
    add_rule(harness, receiver, "sample", ["FAILED", "SUCCESS"])  # another handler's: never fires here
    event = msk_event(failing_record(1))

    harness.invoke_queue(event)
    harness.invoke_queue(event)  # the Kafka batch delivered twice
    (run,) = harness.executions()
    message = work_message(run.id)
    harness.invoke_worker([message])
    harness.invoke_worker([message])  # the SQS message delivered twice
    harness.tick(datetime.now(UTC).replace(microsecond=0))  # the sweeper finds nothing left to send

    (body,) = receiver.verified()
    (headers, _) = receiver.received[0]
    assert run.status == "PENDING"
    assert harness.executions()[0].status == "FAILED"
    assert body["event"] == "FAILED"
    assert body["run"]["id"] == run.id
    assert body["run"]["handler_name"] == "sample4"
    assert body["run"]["status"] == "FAILED"
    assert body["run"]["error_message"] == "ValueError: action 'delete' needs an id"
    assert body["run"]["params"] == {"action": "delete"}
    assert headers["x-jobu-event"] == "FAILED"
    assert headers["x-jobu-delivery"] == str(body["notification_id"])


def test_a_webhook_that_fails_is_retried_by_the_tick_and_the_delivery_recorded(
    harness: Harness, receiver: Receiver
) -> None:
    rule_id = add_rule(harness, receiver, "*", ["FAILED"])
    receiver.answers = [500]
    harness.invoke_queue(msk_event(failing_record(7)))
    harness.drain_queue()
    first = harness.with_store(lambda s: notification_rules.get(s, rule_id)).recent[0]

    # the retry's time: the tick after the backoff delivers it
    later = datetime.now(UTC).replace(microsecond=0) + backoff(1) + timedelta(minutes=1)
    report = harness.tick(later)
    harness.tick(later)
    after = harness.with_store(lambda s: notification_rules.get(s, rule_id)).recent[0]

    assert (first.state, first.attempts, first.response_status) == ("PENDING", 1, 500)
    assert first.last_error == "the webhook answered 500"
    assert report["sweep"]["notified"] == [first.id]
    assert (after.state, after.attempts, after.response_status, after.last_error) == (
        "DELIVERED",
        2,
        204,
        None,
    )
    assert [body["notification_id"] for body in receiver.verified()] == [first.id, first.id]


def test_a_success_notifies_only_rules_that_ask_for_it(harness: Harness, receiver: Receiver) -> None:
    add_rule(harness, receiver, "sample", ["FAILED"])
    success_rule = add_rule(harness, receiver, "sample", ["SUCCESS"])
    harness.invoke_queue(msk_event(kafka_record(3, json.dumps({"handler_name": "sample", "params": {}}))))
    harness.drain_queue()

    (body,) = receiver.verified()
    assert (body["event"], body["rule_id"], body["run"]["status"]) == ("SUCCESS", success_rule, "SUCCESS")


def test_runs_the_tick_expires_notify_rules_that_ask_for_expired(
    harness: Harness, receiver: Receiver
) -> None:
    add_rule(harness, receiver, "sample", ["EXPIRED"])
    record = {"handler_name": "sample", "params": {}, "ttl_seconds": 60}
    harness.invoke_queue(msk_event(kafka_record(4, json.dumps(record))))
    (run,) = harness.executions()
    # no worker took it: the tick after its ttl expires it, and the outcome notifies like any other
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=3)
    harness.tick(later)
    harness.tick(later)  # a tick again: nothing more

    assert harness.executions()[0].status == "EXPIRED"
    (body,) = receiver.verified(fresh=False)
    assert (body["event"], body["run"]["id"], body["run"]["status"]) == ("EXPIRED", run.id, "EXPIRED")


def test_send_a_test_goes_through_the_rules_destination(harness: Harness, receiver: Receiver) -> None:
    rule_id = add_rule(harness, receiver, "*", ["FAILED"])

    result = harness.with_store(
        lambda s: notification_rules.send_test(s, rule_id, now=datetime.now(UTC), actor=TEST_ACTOR)
    )

    (body,) = receiver.verified()
    assert result.delivered
    assert (body["event"], body["run"]) == ("TEST", None)


@pytest.mark.parametrize(
    ("changes", "refusal"),
    [
        ({"webhook_url": "http://example.com/hook"}, "webhook_url must be https"),
        ({"webhook_url": "https://user:pw@example.com/hook"}, "must not carry credentials"),
        ({"handler_name": "nope"}, "unknown handler 'nope'"),
        ({"secret": None}, "a webhook needs a secret"),
        ({"webhook_url": None}, "give one destination"),
        ({"sns_topic_arn": "arn:aws:sns:us-east-1:123456789012:ops"}, "give one destination"),
    ],
)
def test_rules_that_cannot_be_delivered_safely_are_refused(
    harness: Harness, changes: dict[str, Any], refusal: str
) -> None:
    spec = {
        "handler_name": "*",
        "statuses": ["FAILED"],
        "webhook_url": "https://example.com/h",
        "secret": SECRET,
    }
    checked = RuleSpec.model_validate({**spec, **changes})

    async def create(store: JobStore) -> None:
        await notification_rules.create(
            store, checked, known_handlers=known_handler_names(), now=datetime.now(UTC), actor=TEST_ACTOR
        )

    with pytest.raises(InvalidNotificationRuleError, match=refusal):
        harness.with_store(create)


def test_the_cli_adds_lists_tests_and_deletes_rules(
    harness: Harness, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    target = ["--database-url", harness.database_url]
    add = ["notifications", "add", "--handler", "sample", "--statuses", "failed,timeout"]

    assert jobu([*add, "--webhook-url", receiver.url, "--secret", SECRET, *target]) == 0
    assert jobu(["notifications", *target]) == 0
    assert jobu(["notifications", "test", "1", *target]) == 0
    listed = capsys.readouterr().out
    assert jobu(["notifications", "show", "1", "--json", *target]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert jobu([*add, "--webhook-url", "http://example.com/", "--secret", SECRET, *target]) == 2
    refused = capsys.readouterr().err
    assert jobu(["notifications", "delete", "1", *target]) == 0

    assert "1   sample   FAILED,TIMEOUT" in listed
    assert "test notification 1 delivered (answer 204)" in listed
    assert SECRET not in listed
    assert (shown["secret_set"], shown["recent"][0]["event"], shown["recent"][0]["state"]) == (
        True,
        "TEST",
        "DELIVERED",
    )
    assert "secret" not in shown
    assert refused.startswith("jobu: invalid_notification_rule: webhook_url must be https")
    assert [body["event"] for body in receiver.verified()] == ["TEST"]
    assert harness.with_store(lambda s: s.notifications.rules()) == []


def add_alerted_job(harness: Harness, name: str, created: datetime) -> int:
    spec = CronJobSpec.model_validate(
        {
            "name": name,
            "cron_expression": "0 * * * *",
            "handler_name": "sample",
            "alert_if_not_started_within": 300,
            "alert_if_not_finished_within": 600,
        }
    )

    async def create(store: JobStore) -> int:
        job = await create_cron_job(
            store,
            spec,
            known_handlers=known_handler_names(),
            worker_timeouts=WORKER_TIMEOUTS,
            now=created,
            actor=TEST_ACTOR,
        )
        return job.id

    return harness.with_store(create)


def test_a_slot_not_started_in_time_is_missed_and_one_not_finished_late_once_each(
    harness: Harness, receiver: Receiver
) -> None:
    add_rule(harness, receiver, "*", ["MISSED", "LATE"])
    slot = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    job_id = add_alerted_job(harness, "hourly-export", slot - timedelta(minutes=30))

    # the scheduler was down at the slot: the tick 6 minutes later starts its run, 5 minutes too late
    harness.tick(slot + timedelta(minutes=6))
    harness.tick(slot + timedelta(minutes=7))  # the same slot looked at again: nothing new
    missed = receiver.verified(fresh=False)
    # the run never finishes: 10 minutes after the slot it is LATE, once
    harness.tick(slot + timedelta(minutes=11))
    harness.tick(slot + timedelta(minutes=12))
    events = receiver.verified(fresh=False)

    (run,) = harness.executions()
    assert [body["event"] for body in missed] == ["MISSED"]
    assert [body["event"] for body in events] == ["MISSED", "LATE"]
    for body in events:
        assert body["slot"] == slot.isoformat()
        assert body["job"] == {"id": job_id, "name": "hourly-export", "handler_name": "sample"}
    # the tick looks before it dispatches: the slot had no run yet; 10 minutes on, its run had not ended
    assert (events[0]["run"], events[1]["run"]["id"], events[1]["run"]["status"]) == (None, run.id, "PENDING")


def test_a_slot_that_ran_in_time_alerts_nobody(harness: Harness, receiver: Receiver) -> None:
    add_rule(harness, receiver, "*", ["MISSED", "LATE"])
    slot = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    add_alerted_job(harness, "punctual", slot - timedelta(minutes=30))

    harness.tick(slot)
    harness.drain_queue()
    harness.tick(slot + timedelta(minutes=11))

    assert harness.executions()[0].status == "SUCCESS"
    assert receiver.received == []
