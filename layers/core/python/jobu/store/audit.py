"""The store's audit trail (the operator_actions table): one row per operator action, written on
the connection of the change it records, inside that change's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobu.store.rows import Rows, rows_to

if TYPE_CHECKING:
    from jobu.listings import OperatorAction


@dataclass(frozen=True)
class NewOperatorAction:
    principal: str
    operation: str
    target_kind: str
    target_id: str | None
    request_id: str | None
    before_state: Any
    after_state: Any


class AuditTrail(Rows):
    async def insert(self, conn: Any, action: NewOperatorAction, *, now: datetime) -> None:
        """Record `action` on `conn`: the caller's transaction, so the row and the change commit
        together or not at all."""
        await self._q.insert_operator_action(
            conn,
            now=self._t(now),
            principal=action.principal,
            operation=action.operation,
            target_kind=action.target_kind,
            target_id=action.target_id,
            request_id=action.request_id,
            before_state=self._j(action.before_state),
            after_state=self._j(action.after_state),
        )

    async def insert_many(self, conn: Any, actions: Sequence[NewOperatorAction], *, now: datetime) -> None:
        """Record `actions` on `conn` in one statement, in their order (insert's, for a batch)."""
        if not actions:
            return
        rows = [
            {name: value for name, value in asdict(action).items() if value is not None} for action in actions
        ]
        await self._q.insert_operator_actions(conn, now=self._t(now), actions=self._j(rows))

    def _filter(self, **where: Any) -> dict[str, Any]:
        return {
            "principal": where.get("principal"),
            "operation": where.get("operation"),
            "target_kind": where.get("target_kind"),
            "target_id": where.get("target_id"),
            "from_date": self._t(where.get("from_date")),
            "to_date": self._t(where.get("to_date")),
        }

    async def count(self, **where: Any) -> int:
        """Rows matching principal, operation, target_kind, target_id, from_date, to_date (None: any)."""
        return int(await self._select_one("count_operator_actions", **self._filter(**where)))

    async def page(self, *, limit: int, offset: int, **where: Any) -> list[OperatorAction]:
        """A page of what count counts, newest first."""
        from jobu.listings import OperatorAction  # the admin's alone (jobu.listings)

        rows = await self._select(
            "page_operator_actions", limit=limit, offset=offset, **self._filter(**where)
        )
        return rows_to(OperatorAction, rows)

    async def prune(self, *, cutoff: datetime, limit: int) -> int:
        """Retention: delete up to `limit` of the oldest rows written before `cutoff`; how many."""
        return await self._update("delete_old_operator_actions", cutoff=self._t(cutoff), limit=limit)
