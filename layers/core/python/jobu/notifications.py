"""Notifications: a run's outcome (or a cron slot's miss) told to an SNS topic or a signed webhook.

Rules say which handler (or `*`) and which events notify which destination. A run's outcome writes
its notifications to the outbox in the transaction that records the outcome (jobu.store.runs), one
per matching rule, keyed so nothing writes one twice; so a notification is never lost with a crash
and never doubled by a duplicate delivery. They are delivered after the commit by the worker that
ended the run, and by every cron tick for what is left (a crash, a destination that was down):
each attempt is claimed first (one deliverer per attempt), retried with exponential backoff up to
MAX_ATTEMPTS, and its result recorded (state, attempts, response status, last error).

Events: FAILED, TIMEOUT, CANCELLED, EXPIRED (the run's final status), SUCCESS, RECOVERED (a SUCCESS after
failed attempts; rules asking for SUCCESS get it too), MISSED and LATE (a cron slot that did not
start, or finish, in time), and TEST (sent by hand).

A webhook is an HTTPS POST of the JSON body with `X-Jobu-Signature: t=<unix seconds>,v1=<hex
HMAC-SHA256 of "<t>.<body>" with the rule's secret>` (Stripe's and GitHub's scheme: a receiver
recomputes it and refuses a stale `t`), `X-Jobu-Event` and `X-Jobu-Delivery` (the notification's id:
a receiver that saw it already may ignore it). Redirects are never followed: a 3xx is a failed
attempt. Plain http is refused, except to this machine where the local runtime allows it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from jobu import constants
from jobu.models import Execution, NotificationRow
from jobu.observability import logger
from jobu.store import JobStore

EVENTS = ("FAILED", "TIMEOUT", "CANCELLED", "EXPIRED", "SUCCESS", "RECOVERED", "MISSED", "LATE")
TEST_EVENT = "TEST"
MAX_ATTEMPTS = 8
BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=1)
SEND_TIMEOUT_SECONDS = 5.0
# a claimed attempt is the deliverer's this long; past it (the deliverer died) another may retry it
LEASE = timedelta(seconds=60)
DUE_LIMIT = 100
MAX_URL_LENGTH = 2048
SNS_TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?")
LOOPBACK_NAMES = {"localhost"}


# --- destinations -------------------------------------------------------------------------------


def webhook_url_problem(url: str) -> str | None:
    """Why `url` cannot be a webhook, or None: https to a host, no credentials in it, no spaces."""
    if len(url) > MAX_URL_LENGTH or any(char.isspace() or ord(char) < 0x20 for char in url):
        return "webhook_url must be one URL of at most 2048 characters, without spaces"
    try:
        parts = urlsplit(url)
        _ = parts.port  # a port that is not a number raises here
    except ValueError as error:
        return f"webhook_url is not a valid URL: {error}"
    problem = None
    if parts.username is not None or parts.password is not None:
        problem = "webhook_url must not carry credentials: sign with the rule's secret instead"
    elif not parts.hostname:
        problem = "webhook_url needs a host"
    elif parts.scheme != "https" and not (
        parts.scheme == "http" and _loopback(parts.hostname) and loopback_http_allowed()
    ):
        problem = "webhook_url must be https (plain http only to this machine, with the local runtime)"
    return problem


def _loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def loopback_http_allowed() -> bool:
    return os.environ.get(constants.NOTIFY_LOOPBACK_HTTP, "").strip().lower() == "allow"


def sns_topic_problem(arn: str) -> str | None:
    return None if SNS_TOPIC_ARN.fullmatch(arn) else "sns_topic_arn is not an SNS topic ARN"


# --- what is sent --------------------------------------------------------------------------------


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`."""
    import hashlib  # hmac and urllib's HTTP client: when a notification is sent, never at init
    import hmac

    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def run_document(run: Execution | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {
        "id": run.id,
        "handler_name": run.handler_name,
        "status": run.status.value,
        "job_id": run.job_id,
        "error_message": run.error_message,
        "params": run.params,
        "retry_count": run.retry_count,
        "max_retry": run.max_retry,
        "scheduled_time": _iso(run.scheduled_time),
        "created_at": _iso(run.created_at),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "trace_parent": run.trace_parent,
    }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def body(notification: NotificationRow, run: Execution | None, extra: dict[str, Any] | None = None) -> bytes:
    document = {
        "notification_id": notification.id,
        "rule_id": notification.rule_id,
        "event": notification.event,
        "created_at": _iso(notification.created_at),
        "run": run_document(run),
        **(extra or {}),
    }
    return json.dumps(document, separators=(",", ":"), default=str).encode()


@dataclass(frozen=True)
class Sent:
    ok: bool
    status: int | None = None
    error: str | None = None


def post_webhook(url: str, payload: bytes, *, secret: str, event: str, delivery: int, now: datetime) -> Sent:
    # urllib's HTTP client (http.client, email: about 50 M instructions) only in a container that
    # sends a webhook: every worker imports this module at init (docs/performance.md)
    import urllib.error
    import urllib.request

    class _NoRedirects(urllib.request.HTTPRedirectHandler):
        """A redirect is an answer, not a new address to send the body (and its signature) to."""

        def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
            return None

    problem = webhook_url_problem(url)
    if problem is not None:
        return Sent(False, error=problem)
    request = urllib.request.Request(  # https, or http to loopback where allowed: checked above
        url,
        data=payload,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "jobu-notifications",
            "X-Jobu-Signature": signature(secret, int(now.timestamp()), payload),
            "X-Jobu-Event": event,
            "X-Jobu-Delivery": str(delivery),
        },
    )
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(request, timeout=SEND_TIMEOUT_SECONDS) as response:
            response.read(1024)
            status = int(response.status)
    except urllib.error.HTTPError as error:
        return Sent(False, error.code, f"the webhook answered {error.code}")
    except (urllib.error.URLError, OSError, ValueError) as error:
        return Sent(False, error=f"{type(error).__name__}: {error}"[:500])
    return Sent(
        200 <= status < 300, status, None if 200 <= status < 300 else f"the webhook answered {status}"
    )


def publish_sns(topic_arn: str, payload: bytes, *, event: str, run_id: int | None) -> Sent:
    import boto3  # only a function that sends to SNS pays for it
    from botocore.exceptions import BotoCoreError, ClientError

    subject = f"jobu: {event}" + ("" if run_id is None else f" run {run_id}")
    try:
        boto3.client("sns").publish(TopicArn=topic_arn, Subject=subject[:100], Message=payload.decode())
    except (BotoCoreError, ClientError) as error:
        return Sent(False, error=f"{type(error).__name__}: {error}"[:500])
    return Sent(True)


def send(notification: NotificationRow, payload: bytes, now: datetime) -> Sent:
    """One attempt at the notification's destination (blocking: run it in a thread)."""
    if notification.webhook_url is not None:
        return post_webhook(
            notification.webhook_url,
            payload,
            secret=notification.secret or "",
            event=notification.event,
            delivery=notification.id,
            now=now,
        )
    if notification.sns_topic_arn is not None:
        return publish_sns(
            notification.sns_topic_arn, payload, event=notification.event, run_id=notification.execution_id
        )
    return Sent(False, error="its rule was deleted")


# --- delivery -----------------------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """After the `attempts`-th failed attempt: 30 s, 1 min, 2 min, ... at most an hour."""
    delay: timedelta = BACKOFF * 2 ** max(0, attempts - 1)
    return min(delay, MAX_BACKOFF)


@dataclass
class DeliveryReport:
    delivered: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


async def deliver_due(
    store: JobStore, *, now: datetime, execution_id: int | None = None, limit: int = DUE_LIMIT
) -> DeliveryReport:
    """Deliver the notifications whose time has come: a run's (after its outcome), or any."""
    report = DeliveryReport()
    for notification_id, attempts in await store.notifications.due(
        now=now, limit=limit, execution_id=execution_id
    ):
        await deliver_one(store, notification_id, attempts, now=now, report=report)
    return report


async def deliver_one(
    store: JobStore,
    notification_id: int,
    attempts: int,
    *,
    now: datetime,
    report: DeliveryReport,
    extra: dict[str, Any] | None = None,
) -> None:
    if not await store.notifications.claim(
        notification_id, attempts=attempts, now=now, lease_until=now + LEASE
    ):
        return  # another deliverer has this attempt
    notification = await store.notifications.delivery(notification_id)
    if notification is None:
        return
    run = None if notification.execution_id is None else await store.runs.get(notification.execution_id)
    if notification.slot is not None and notification.job_id is not None:
        job = await store.cron_jobs.get(notification.job_id)
        extra = {
            **(extra or {}),
            "slot": _iso(notification.slot),
            "job": None
            if job is None
            else {"id": job.id, "name": job.name, "handler_name": job.handler_name},
        }
    sent = await asyncio.to_thread(send, notification, body(notification, run, extra), now)
    tried = attempts + 1
    if sent.ok:
        await store.notifications.delivered(notification_id, attempts=tried, status=sent.status, now=now)
        report.delivered.append(notification_id)
        return
    final = tried >= MAX_ATTEMPTS or (notification.webhook_url is None and notification.sns_topic_arn is None)
    await store.notifications.not_delivered(
        notification_id,
        attempts=tried,
        final=final,
        next_attempt_at=now + backoff(tried),
        error=sent.error or "not delivered",
        status=sent.status,
    )
    (report.failed if final else report.retrying).append(notification_id)
    logger.warning(
        "notification not delivered",
        extra={"notification_id": notification_id, "attempt": tried, "final": final, "error": sent.error},
    )


async def deliver_after_outcome(store: JobStore, execution_id: int, queued: int, *, now: datetime) -> None:
    """The worker, once a run's outcome is committed: its notifications now, not at the next tick.
    Never raises: what is not delivered here the tick delivers."""
    if queued <= 0:
        return
    try:
        await deliver_due(store, now=now, execution_id=execution_id)
    except Exception as error:  # the outcome is recorded; delivery is the sweeper's from here
        logger.warning(
            "notifications left to the tick", extra={"execution_id": execution_id, "error": str(error)}
        )
