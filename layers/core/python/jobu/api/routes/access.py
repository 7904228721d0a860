"""/api/access: what the caller may do, for a client that shows only what it may (the dashboard).

Roles are IAM's (docs/security.md): the template's viewer policy allows execute-api:Invoke on the
API's GET routes only, the operator policy on every route. A viewer's request to any other route is
refused by API Gateway before it reaches this function, so `POST /api/access/check` answers only
operators: a 200 says the caller may change things, API Gateway's 403 that it may only read. The
answer is the API's own, never a guess from the caller's name.
"""

from __future__ import annotations

from typing import Literal

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, Field

from jobu.api.errors import responses
from jobu.api.parameters import Caller

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # untyped in Powertools
TAGS = ["access"]


class AccessCheck(BaseModel):
    role: Literal["operator"] = Field(description="only operators reach this route (a viewer gets 403)")
    principal: str = Field(description="who the API takes the caller to be: the IAM ARN that signed")


@router.post(
    "/check",
    tags=TAGS,
    summary="Whether the caller may change things (200) or only read (403, from API Gateway)",
    responses=responses(200, "The caller is an operator", usual=()),
)
async def check_access(actor: Caller) -> AccessCheck:
    return AccessCheck(role="operator", principal=actor.principal)
