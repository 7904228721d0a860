"""Notification rules: list, create, read, replace, delete, and send a test (jobu.notifications).

A rule is {"handler_name": a deployed handler or "*", "statuses": events from jobu.notifications.
EVENTS, one destination ("webhook_url", https, with a "secret" of at least 16 characters to sign
with; or "sns_topic_arn"), "is_enabled"}. The secret is never read back: a rule says only whether
it has one, and a PUT without a secret keeps the one it had.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence, Set
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from jobu.errors import InvalidNotificationRuleError, NotFoundError
from jobu.models import NotificationRow, NotificationRuleRow
from jobu.notifications import (
    EVENTS,
    TEST_EVENT,
    DeliveryReport,
    deliver_one,
    sns_topic_problem,
    webhook_url_problem,
)
from jobu.operations.audit import Actor, Change, audited, differences
from jobu.store import JobStore

Event = Literal["FAILED", "TIMEOUT", "CANCELLED", "EXPIRED", "SUCCESS", "RECOVERED", "MISSED", "LATE"]
ANY_HANDLER = "*"
MIN_SECRET = 16
RECENT = 20
FIELDS = ("handler_name", "webhook_url", "sns_topic_arn", "secret", "is_enabled")


class RuleSpec(BaseModel, extra="forbid"):
    handler_name: Annotated[str, Field(min_length=1, max_length=200, description='a handler\'s name, or "*"')]
    statuses: Annotated[list[Event], Field(min_length=1, max_length=len(EVENTS), description="what notifies")]
    webhook_url: Annotated[str | None, Field(max_length=2048, description="an https URL")] = None
    sns_topic_arn: Annotated[str | None, Field(max_length=256)] = None
    secret: Annotated[
        str | None,
        Field(min_length=MIN_SECRET, max_length=256, description="signs webhook bodies; never read back"),
    ] = None
    is_enabled: bool = True


class Delivery(BaseModel):
    id: int
    event: str
    execution_id: int | None
    state: str
    attempts: int
    response_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class NotificationRule(BaseModel):
    id: int
    handler_name: str
    statuses: list[str]
    webhook_url: str | None
    sns_topic_arn: str | None
    secret_set: bool = Field(description="whether webhook bodies are signed (the secret is never shown)")
    is_enabled: bool
    created_at: datetime
    updated_at: datetime
    recent: list[Delivery] = Field(default_factory=list, description="its latest notifications (rule detail)")

    @classmethod
    def of(
        cls, rule: NotificationRuleRow, events: list[str], recent: list[NotificationRow] | None = None
    ) -> NotificationRule:
        return cls(
            id=rule.id,
            handler_name=rule.handler_name,
            statuses=sorted(events, key=EVENTS.index),
            webhook_url=rule.webhook_url,
            sns_topic_arn=rule.sns_topic_arn,
            secret_set=bool(rule.secret),
            is_enabled=rule.is_enabled,
            created_at=rule.created_at,
            updated_at=rule.updated_at,
            recent=[Delivery.model_validate(row, from_attributes=True) for row in recent or []],
        )


class TestResult(BaseModel):
    delivered: bool
    notification: Delivery


def _checked(
    spec: RuleSpec, known_handlers: Set[str], *, kept_secret: str | None = None
) -> dict[str, object]:
    if spec.handler_name != ANY_HANDLER and spec.handler_name not in known_handlers:
        raise InvalidNotificationRuleError(f"unknown handler {spec.handler_name!r}", field="handler_name")
    if (spec.webhook_url is None) == (spec.sns_topic_arn is None):
        raise InvalidNotificationRuleError("give one destination: webhook_url or sns_topic_arn")
    secret = spec.secret or kept_secret
    if spec.webhook_url is not None:
        problem = webhook_url_problem(spec.webhook_url)
        if problem is not None:
            raise InvalidNotificationRuleError(problem, field="webhook_url")
        if not secret:
            raise InvalidNotificationRuleError(
                f"a webhook needs a secret (at least {MIN_SECRET} characters) to sign its bodies",
                field="secret",
            )
    else:
        problem = sns_topic_problem(spec.sns_topic_arn or "")
        if problem is not None:
            raise InvalidNotificationRuleError(problem, field="sns_topic_arn")
        secret = None
    return {
        "handler_name": spec.handler_name,
        "webhook_url": spec.webhook_url,
        "sns_topic_arn": spec.sns_topic_arn,
        "secret": secret,
        "is_enabled": spec.is_enabled,
    }


async def list_rules(store: JobStore) -> list[NotificationRule]:
    return [NotificationRule.of(rule, events) for rule, events in await store.notifications.rules()]


async def get(store: JobStore, rule_id: int) -> NotificationRule:
    found = await store.notifications.rule(rule_id)
    if found is None:
        raise NotFoundError(f"no notification rule with id {rule_id}")
    rule, events = found
    return NotificationRule.of(rule, events, await store.notifications.for_rule(rule_id, limit=RECENT))


def _shown(fields: Mapping[str, Any], events: Sequence[str]) -> dict[str, Any]:
    """A rule as its audit row keeps it: whether it has a secret, never the secret."""
    shown = {key: value for key, value in fields.items() if key != "secret"}
    return {**shown, "secret_set": bool(fields["secret"]), "statuses": events}


async def create(
    store: JobStore, spec: RuleSpec, *, known_handlers: Set[str], now: datetime, actor: Actor
) -> NotificationRule:
    fields = _checked(spec, known_handlers)
    events = sorted(set(spec.statuses))

    async def make(change: Change) -> int:
        rule_id = await store.notifications.create_rule(fields, events, now=now, conn=change.conn)
        change.target_id = str(rule_id)
        change.record(after=_shown(fields, events))
        return rule_id

    rule_id = await audited(
        store, actor, "notification_rule.create", "notification_rule", now=now, change=make
    )
    return await get(store, rule_id)


async def replace(
    store: JobStore, rule_id: int, spec: RuleSpec, *, known_handlers: Set[str], now: datetime, actor: Actor
) -> NotificationRule:
    events = sorted(set(spec.statuses))

    async def change_rule(change: Change) -> None:
        found = await store.notifications.rule(rule_id, conn=change.conn)
        if found is None:
            raise NotFoundError(f"no notification rule with id {rule_id}")
        rule, before_events = found
        fields = _checked(spec, known_handlers, kept_secret=rule.secret)
        await store.notifications.update_rule(rule_id, fields, events, now=now, conn=change.conn)
        before = {name: getattr(rule, name) for name in FIELDS}
        change.record(*differences(_shown(before, before_events), _shown(fields, events)))

    operation = "notification_rule.update"
    await audited(store, actor, operation, "notification_rule", rule_id, now=now, change=change_rule)
    return await get(store, rule_id)


async def delete(store: JobStore, rule_id: int, *, now: datetime, actor: Actor) -> None:
    async def remove(change: Change) -> None:
        found = await store.notifications.rule(rule_id, conn=change.conn)
        if found is None or not await store.notifications.delete_rule(rule_id, conn=change.conn):
            raise NotFoundError(f"no notification rule with id {rule_id}")
        rule, events = found
        change.record(before=_shown({name: getattr(rule, name) for name in FIELDS}, events))

    operation = "notification_rule.delete"
    await audited(store, actor, operation, "notification_rule", rule_id, now=now, change=remove)


async def send_test(store: JobStore, rule_id: int, *, now: datetime, actor: Actor) -> TestResult:
    """A TEST notification through the rule's destination, now (recorded like any other)."""
    await get(store, rule_id)
    key = f"test:{uuid.uuid4()}"

    async def add(change: Change) -> NotificationRow | None:
        added = await store.notifications.add(
            rule_id, event=TEST_EVENT, dedup_key=key, now=now, conn=change.conn
        )
        change.record(after={"event": TEST_EVENT, "notification_id": None if added is None else added.id})
        return added

    added = await audited(
        store, actor, "notification_rule.test", "notification_rule", rule_id, now=now, change=add
    )
    assert added is not None
    report = DeliveryReport()
    await deliver_one(store, added.id, added.attempts, now=now, report=report)
    after = await store.notifications.delivery(added.id)
    assert after is not None
    return TestResult(
        delivered=added.id in report.delivered,
        notification=Delivery.model_validate(after, from_attributes=True),
    )
