"""The store's rejected records (the rejected_events table): Kafka records that could not become
runs, kept with their raw value and the reason."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobu.store.rows import Rows, row_to, rows_to

if TYPE_CHECKING:
    from jobu.listings import RejectedEvent, RejectedEventSummary

PREVIEW_CHARS = 200


class RejectedRecords(Rows):
    async def insert(self, rejected: Sequence[dict[str, Any]], *, now: datetime) -> None:
        """Keep records that could not become runs: source_topic/partition/offset, raw_value, reason."""
        if rejected:
            async with self.connector.connection() as conn:
                await self._q.insert_rejected_events(conn, rows=self._j(list(rejected)), now=self._t(now))

    async def list_recent(self, *, limit: int = 100) -> list[RejectedEvent]:
        from jobu.listings import RejectedEvent  # read by the admin alone (jobu.listings)

        return rows_to(RejectedEvent, await self._select("list_rejected_events", limit=limit))

    async def count(self) -> int:
        return int(await self._select_one("count_rejected_events"))

    async def page(self, *, limit: int, offset: int) -> list[RejectedEventSummary]:
        from jobu.listings import RejectedEventSummary

        summaries = []
        for row in await self._select("page_rejected_events", limit=limit, offset=offset):
            fields = dict(row)
            preview = fields.pop("raw_preview") or ""
            shown = {"raw_preview": preview[:PREVIEW_CHARS], "raw_truncated": len(preview) > PREVIEW_CHARS}
            summaries.append(RejectedEventSummary.from_row(fields | shown))
        return summaries

    async def get(self, rejected_id: int, *, conn: Any = None) -> RejectedEvent | None:
        from jobu.listings import RejectedEvent

        return row_to(RejectedEvent, await self._select_one("get_rejected_event", conn=conn, id=rejected_id))

    async def delete(self, rejected_id: int, *, conn: Any = None) -> bool:
        return await self._update("delete_rejected_event", conn=conn, id=rejected_id) > 0

    async def set_reason(self, rejected_id: int, reason: str, *, conn: Any = None) -> bool:
        return await self._update("set_rejected_event_reason", conn=conn, id=rejected_id, reason=reason) > 0
