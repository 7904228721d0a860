"""The store's notifications: the rules (notification_rules and their events) and the outbox
(notifications) that runs' outcomes write and the deliverers drain (jobu.notifications)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from jobu.models import NotificationRow, NotificationRuleRow
from jobu.store.connector import Connector
from jobu.store.rows import Rows, row_to, rows_to

SUCCESS = "SUCCESS"
RECOVERED = "RECOVERED"


class Notifications(Rows):
    # Whether any rule is enabled, as last read: a run that ends with none to notify is one statement,
    # no transaction (the worker's floor). A rule created or enabled is seen within this long.
    RULES_SEEN_WITHIN = 10.0

    def __init__(self, connector: Connector) -> None:
        super().__init__(connector)
        self._rules_read: tuple[float, bool] | None = None

    async def any_enabled(self, *, conn: Any = None) -> bool:
        """Whether any rule is enabled (read at most every RULES_SEEN_WITHIN seconds); on `conn` when
        the caller holds one: SQLite's one connection would otherwise wait for itself."""
        now = time.monotonic()
        if self._rules_read is None or now - self._rules_read[0] > self.RULES_SEEN_WITHIN:
            enabled = int(await self._select_one("enabled_notification_rules", conn=conn, enabled=True)) > 0
            self._rules_read = (now, enabled)
        return self._rules_read[1]

    def rules_changed(self) -> None:
        """This store changed the rules: read them again before the next outcome."""
        self._rules_read = None

    # rules -------------------------------------------------------------------------------------

    async def rules(self, *, conn: Any = None) -> list[tuple[NotificationRuleRow, list[str]]]:
        rules = rows_to(NotificationRuleRow, await self._select("list_notification_rules", conn=conn))
        events: dict[int, list[str]] = {}
        for row in await self._select("all_notification_rule_events", conn=conn):
            events.setdefault(int(row["rule_id"]), []).append(str(row["event"]))
        return [(rule, events.get(rule.id, [])) for rule in rules]

    async def rule(self, rule_id: int, *, conn: Any = None) -> tuple[NotificationRuleRow, list[str]] | None:
        found = [(rule, events) for rule, events in await self.rules(conn=conn) if rule.id == rule_id]
        return found[0] if found else None

    async def create_rule(
        self, fields: dict[str, Any], events: Sequence[str], *, now: datetime, conn: Any = None
    ) -> int:
        async with self._transaction(conn) as tx:
            rule_id = int(await self._q.insert_notification_rule(tx, **fields, now=self._t(now)))
            for event in events:
                await self._q.insert_notification_rule_event(tx, rule_id=rule_id, event=event)
        self.rules_changed()
        return rule_id

    async def update_rule(
        self, rule_id: int, fields: dict[str, Any], events: Sequence[str], *, now: datetime, conn: Any = None
    ) -> bool:
        async with self._transaction(conn) as tx:
            changed = await self._q.update_notification_rule(tx, id=rule_id, **fields, now=self._t(now))
            if (
                self.connector.affected_rows(changed) == 0
                and await self._q.get_notification_rule(tx, id=rule_id) is None
            ):
                return False
            await self._q.delete_notification_rule_events(tx, id=rule_id)
            for event in events:
                await self._q.insert_notification_rule_event(tx, rule_id=rule_id, event=event)
        self.rules_changed()
        return True

    async def delete_rule(self, rule_id: int, *, conn: Any = None) -> bool:
        async with self._transaction(conn) as tx:
            await self._q.delete_notification_rule_events(tx, id=rule_id)
            deleted = await self._q.delete_notification_rule(tx, id=rule_id)
        self.rules_changed()
        return self.connector.affected_rows(deleted) > 0

    async def rules_for_event(self, event: str, handler_name: str) -> list[int]:
        """The enabled rules that `event` of a run of `handler_name` notifies."""
        rows = await self._select("rules_for_event", event=event, handler_name=handler_name)
        return [int(row["id"]) for row in rows if row["is_enabled"]]

    # the outbox --------------------------------------------------------------------------------

    async def queue_outcome(
        self, conn: Any, execution_id: int, *, status: str, attempt: int, now: datetime
    ) -> int:
        """In the caller's transaction (the one that records the outcome): a row per matching rule;
        how many were written. A SUCCESS after failed attempts is RECOVERED (rules asking for SUCCESS
        get it too). One outcome is one attempt's end: (run, attempt, event) keys it."""
        event = RECOVERED if status == SUCCESS and attempt > 0 else status
        written = await self._q.queue_run_notifications(
            conn,
            execution_id=execution_id,
            event=event,
            also=SUCCESS if event == RECOVERED else event,
            dedup_key=f"run:{execution_id}:{attempt}:{event}",
            now=self._t(now),
        )
        return self.connector.affected_rows(written)

    async def add(
        self,
        rule_id: int,
        *,
        event: str,
        dedup_key: str,
        now: datetime,
        execution_id: int | None = None,
        job_id: int | None = None,
        slot: datetime | None = None,
        conn: Any = None,
    ) -> NotificationRow | None:
        """One notification for one rule (a test, a missed slot), once per (rule, dedup_key)."""
        async with self._transaction(conn) as tx:
            await self._q.insert_notification(
                tx,
                rule_id=rule_id,
                execution_id=execution_id,
                job_id=job_id,
                slot=self._t(slot),
                event=event,
                dedup_key=dedup_key,
                now=self._t(now),
            )
            row = await self._q.notification_by_key(tx, rule_id=rule_id, dedup_key=dedup_key)
        return row_to(NotificationRow, row)

    async def due(
        self, *, now: datetime, limit: int, execution_id: int | None = None
    ) -> list[tuple[int, int]]:
        """(id, attempts) of undelivered notifications whose time has come (of one run, or any)."""
        if execution_id is None:
            rows = await self._select("due_notifications", now=self._t(now), limit=limit)
        else:
            rows = await self._select("due_run_notifications", execution_id=execution_id, now=self._t(now))
        return [(int(row["id"]), int(row["attempts"])) for row in rows]

    async def claim(
        self, notification_id: int, *, attempts: int, now: datetime, lease_until: datetime
    ) -> bool:
        claimed = await self._update(
            "claim_notification",
            id=notification_id,
            attempts=attempts,
            now=self._t(now),
            lease_until=self._t(lease_until),
        )
        return claimed == 1

    async def delivery(self, notification_id: int) -> NotificationRow | None:
        return row_to(
            NotificationRow, await self._select_one("get_notification_delivery", id=notification_id)
        )

    async def delivered(
        self, notification_id: int, *, attempts: int, status: int | None, now: datetime
    ) -> None:
        await self._update(
            "notification_delivered",
            id=notification_id,
            attempts=attempts,
            response_status=status,
            now=self._t(now),
        )

    async def not_delivered(
        self,
        notification_id: int,
        *,
        attempts: int,
        final: bool,
        next_attempt_at: datetime,
        error: str,
        status: int | None,
    ) -> None:
        await self._update(
            "notification_not_delivered",
            id=notification_id,
            attempts=attempts,
            state="FAILED" if final else "PENDING",
            next_attempt_at=self._t(next_attempt_at),
            error=error,
            response_status=status,
        )

    async def for_rule(self, rule_id: int, *, limit: int) -> list[NotificationRow]:
        return rows_to(
            NotificationRow, await self._select("list_rule_notifications", rule_id=rule_id, limit=limit)
        )
