"""The audit trail: who did what to which target, and what it changed; and its listing.

Every operation that changes something an operator manages (cron jobs, runs, rejected records, a
pool's dead-letter queue) makes its change through `audited`: the change and its operator_actions
row share one transaction, so a change that fails leaves no row and a row never describes a change
that did not commit. Like every transaction of the store it runs again, whole, when the database
broke the connection under it or rolled it back to end a deadlock (Connector.run). What goes to SQS
(a run's message, a redrive) is sent after that commit, as every path that queues a run does it
(the sweeper re-sends a message that was lost).

The principal is who the caller is as far as jobu can know it: on AWS the IAM ARN API Gateway put
in the request context (`requestContext.authorizer.iam.userArn`, signed by the caller's SigV4
credentials), `os:<user>` for the `jobu` CLI on a database, `local:<user>` for the local runtime's
token; 'unknown' when a request carries none. Each is stored as given: data, never markup.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import to_jsonable_python

from jobu.listings import OperatorAction
from jobu.operations.paging import Page, PageRequest, as_utc, bounded
from jobu.store import JobStore
from jobu.store.audit import NewOperatorAction

UNKNOWN_PRINCIPAL = "unknown"
# an IAM ARN is at most 2048 characters; anything longer is not one, and is cut there
MAX_PRINCIPAL = 2048
MAX_REQUEST_ID = 255


@dataclass(frozen=True)
class Actor:
    """Who asks for a change, and the request it came in (None: not through a request)."""

    principal: str
    request_id: str | None = None

    @classmethod
    def of(cls, principal: object, request_id: object = None) -> Actor:
        """An Actor from values taken out of a request: text, cut to length, or 'unknown'."""
        who = principal if isinstance(principal, str) and principal.strip() else UNKNOWN_PRINCIPAL
        asked = request_id if isinstance(request_id, str) and request_id else None
        return cls(who[:MAX_PRINCIPAL], None if asked is None else asked[:MAX_REQUEST_ID])


@dataclass
class Change:
    """What an audited change is given and fills in: `conn` to make the change on (its
    transaction), and the fields it changed, before and after (None: the target did not exist, or
    no longer does); `target_id` when the change makes the target (a create)."""

    conn: Any
    target_id: str | None
    before: Any = None
    after: Any = None

    def record(self, before: Any = None, after: Any = None) -> None:
        self.before, self.after = jsonable(before), jsonable(after)


def jsonable(value: Any) -> Any:
    """`value` as JSON (datetimes as ISO text, enums as their values, models as objects)."""
    return to_jsonable_python(value)


def fields_of(item: Any, names: Iterable[str]) -> dict[str, Any]:
    """The fields `names` of a row or model, as JSON."""
    return {name: jsonable(getattr(item, name)) for name in names}


def differences(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields whose value changed: as they were, and as they are."""
    old, new = jsonable(dict(before)), jsonable(dict(after))
    keys = [key for key in new if old.get(key) != new[key]]
    return {key: old.get(key) for key in keys}, {key: new[key] for key in keys}


async def audited[T](
    store: JobStore,
    actor: Actor,
    operation: str,
    target_kind: str,
    target_id: object = None,
    *,
    now: datetime,
    change: Callable[[Change], Awaitable[T]],
    conn: Any = None,
) -> T:
    """One operator action in one transaction: `change` makes it on its Change's `conn` and says
    what it changed (Change.record); the action's row is written last, on the same connection. An
    exception in `change` rolls both back. Given `conn`, in the caller's transaction.
    `change` may run more than once (a deadlock, a broken
    connection): it reads what it needs on `conn`, so each run starts from the database as it is."""

    async def attempt(conn: Any) -> T:
        step = Change(conn=conn, target_id=None if target_id is None else str(target_id))
        result = await change(step)
        action = NewOperatorAction(
            principal=actor.principal,
            operation=operation,
            target_kind=target_kind,
            target_id=step.target_id,
            request_id=actor.request_id,
            before_state=step.before,
            after_state=step.after,
        )
        await store.audit.insert(conn, action, now=now)
        return result

    if conn is not None:  # the caller's transaction (several actions at once): it commits them
        return await attempt(conn)
    return await store.connector.run(attempt, transaction=True)


# the listing ------------------------------------------------------------------------------------


class AuditFilter(BaseModel):
    """Which actions: every field given must match exactly; times bound created_at, both included."""

    model_config = ConfigDict(extra="forbid")

    principal: str | None = Field(default=None, min_length=1, max_length=MAX_PRINCIPAL)
    operation: str | None = Field(default=None, min_length=1, max_length=64)
    target_kind: str | None = Field(default=None, min_length=1, max_length=32)
    target_id: str | None = Field(default=None, min_length=1, max_length=255)
    from_date: datetime | None = Field(default=None, description="at or after (UTC when no offset)")
    to_date: datetime | None = Field(default=None, description="at or before (UTC when no offset)")

    @field_validator("from_date", "to_date")
    @classmethod
    def _utc(cls, moment: datetime | None) -> datetime | None:
        checked = bounded(moment)
        return None if checked is None else as_utc(checked)

    @model_validator(mode="after")
    def _in_order(self) -> Self:
        if self.from_date and self.to_date and self.from_date > self.to_date:
            raise ValueError("from_date is after to_date")
        return self


async def list_page(store: JobStore, request: PageRequest, where: AuditFilter) -> Page[OperatorAction]:
    fields = where.model_dump()
    total = await store.audit.count(**fields)
    items = await store.audit.page(limit=request.size, offset=request.offset, **fields)
    return Page[OperatorAction].of(items, total=total, request=request)
