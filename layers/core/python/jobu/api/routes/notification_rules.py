"""/api/notification-rules: who is told of which runs' outcomes (jobu.operations.notification_rules)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from jobu.api.errors import responses
from jobu.api.parameters import MAX_ID, Admin, Caller
from jobu.clock import utcnow
from jobu.operations import notification_rules
from jobu.operations.notification_rules import NotificationRule, RuleSpec, TestResult

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # untyped in Powertools
TAGS = ["notification rules"]
RuleId = Annotated[int, Path(ge=1, le=MAX_ID, description="the notification rule's id")]


@router.get("/", tags=TAGS, summary="List the notification rules", responses=responses(200, "Every rule"))
async def list_rules(admin: Admin) -> list[NotificationRule]:
    return await notification_rules.list_rules(await admin.store())


@router.post(
    "/",
    tags=TAGS,
    summary="Create a notification rule",
    status_code=201,
    responses=responses(201, "The rule, created", body=True),
)
async def create_rule(spec: RuleSpec, admin: Admin, actor: Caller) -> NotificationRule:
    return await notification_rules.create(
        await admin.store(), spec, known_handlers=admin.known_handlers, now=utcnow(), actor=actor
    )


@router.get(
    "/<rule_id>",
    tags=TAGS,
    summary="Read a notification rule and its latest notifications",
    responses=responses(200, "The rule", 404),
)
async def get_rule(rule_id: RuleId, admin: Admin) -> NotificationRule:
    return await notification_rules.get(await admin.store(), rule_id)


@router.put(
    "/<rule_id>",
    tags=TAGS,
    summary="Replace a notification rule (without a secret, it keeps its own)",
    responses=responses(200, "The rule, replaced", 404, body=True),
)
async def replace_rule(rule_id: RuleId, spec: RuleSpec, admin: Admin, actor: Caller) -> NotificationRule:
    return await notification_rules.replace(
        await admin.store(), rule_id, spec, known_handlers=admin.known_handlers, now=utcnow(), actor=actor
    )


@router.delete(
    "/<rule_id>",
    tags=TAGS,
    summary="Delete a notification rule",
    status_code=204,
    responses=responses(204, "Deleted", 404),
)
async def delete_rule(rule_id: RuleId, admin: Admin, actor: Caller) -> Response[None]:
    await notification_rules.delete(await admin.store(), rule_id, now=utcnow(), actor=actor)
    return Response(204)


@router.post(
    "/<rule_id>/test",
    tags=TAGS,
    summary="Send a TEST notification through the rule's destination now",
    responses=responses(200, "What the destination answered", 404),
)
async def test_rule(rule_id: RuleId, admin: Admin, actor: Caller) -> TestResult:
    return await notification_rules.send_test(await admin.store(), rule_id, now=utcnow(), actor=actor)
