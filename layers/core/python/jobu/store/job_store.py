"""The job store: every read and write jobu makes, written once over a Connector, one part per noun.

    store.cron_jobs          the cron_jobs table (jobu.store.cron_jobs)
    store.runs               job_executions: a run (jobu.store.runs)
    store.rejected_records   rejected_events: Kafka records that could not become runs
    store.statistics         aggregates of runs for the dashboard
    store.notifications      notification rules and the outbox of notifications
    store.audit              operator_actions: the audit trail of operator actions
    store.debounce           debounce windows: debounce_keys, debounce_requests, debounced runs
    store.batches            batches: runs made together, their ends counted, their callbacks
    store.limits             handler_limits: concurrency and rate limits, admission and promotion

Methods take and return pydantic models; the connector encodes values for its driver.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from jobu.store.audit import AuditTrail
from jobu.store.batches import Batches
from jobu.store.connector import Connector
from jobu.store.cron_jobs import CronJobs
from jobu.store.debounce import Debounces
from jobu.store.limits import HandlerLimits
from jobu.store.migrations import apply_migrations
from jobu.store.notifications import Notifications
from jobu.store.runs import Runs

if TYPE_CHECKING:
    from jobu.store.rejected_records import RejectedRecords
    from jobu.store.statistics import RunStatistics


class JobStore:
    def __init__(self, connector: Connector) -> None:
        self.connector = connector
        self.limits = HandlerLimits(connector)
        self.cron_jobs = CronJobs(connector, self.limits)
        self.notifications = Notifications(connector)
        self.batches = Batches(connector, self.notifications, self.limits)
        self.runs = Runs(connector, self.notifications, self.batches, self.limits)
        self.audit = AuditTrail(connector)
        self.debounce = Debounces(connector)

    @cached_property
    def rejected_records(self) -> RejectedRecords:
        # made at first use: the queue dispatcher and the admin write and read them, and their rows
        # (jobu.listings) would be compiled at every other function's cold start for nothing
        from jobu.store.rejected_records import RejectedRecords

        return RejectedRecords(self.connector)

    @cached_property
    def statistics(self) -> RunStatistics:
        # imported at first use: only the admin side reads aggregates, and a dispatcher's cold
        # start would make its dataclass for nothing
        from jobu.store.statistics import RunStatistics

        return RunStatistics(self.runs)

    @property
    def backend(self) -> str:
        return self.connector.backend

    async def open(self) -> None:
        await self.connector.open()

    async def close(self) -> None:
        await self.connector.close()

    async def migrate(self, schema_dir: Path | None = None) -> list[str]:
        return await apply_migrations(self.connector, schema_dir)

    async def ping(self) -> None:
        """One round trip to the database (readiness)."""
        async with self.connector.connection() as conn:
            await self.connector.jobu_queries.ping(conn)
