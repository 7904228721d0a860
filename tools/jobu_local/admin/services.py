"""What the admin routes run on when the `jobu` CLI acts on a database: jobu.api.services.Services
over that database and the queues the caller finds (the running runtime's, or the environment's).

Each part is found when a route first asks for it: listing runs opens the database and nothing
else, and a missing queue is said (the caller's function raises a JobuToolError that says how to
provide it) only by a route that queues runs or reads the dead-letter queue, before it writes
anything. The database is opened once, and migrated first when asked (the commands that create).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from jobu.handler_manifest import known_handler_names

if TYPE_CHECKING:
    from jobu.operations.dead_letters import DeadLetterQueue
    from jobu.store import JobStore
    from jobu.work_queue import WorkQueue


@dataclass
class DatabaseServices:
    database_url: str
    find_work_queue: Callable[[], WorkQueue]
    find_dead_letters: Callable[[], DeadLetterQueue]
    find_worker_timeout: Callable[[], int]
    migrate: bool = False
    _store: JobStore | None = None

    async def store(self) -> JobStore:
        if self._store is None:
            from jobu.store import open_store

            store = await open_store(self.database_url)
            if self.migrate:
                try:
                    await store.migrate()
                except BaseException:
                    await store.close()
                    raise
            self._store = store
        return self._store

    async def close(self) -> None:
        if self._store is not None:
            await self._store.close()
            self._store = None

    @cached_property
    def queue(self) -> WorkQueue:
        return self.find_work_queue()

    @cached_property
    def dead_letters(self) -> DeadLetterQueue:
        return self.find_dead_letters()

    @property
    def known_handlers(self) -> frozenset[str]:
        return known_handler_names()

    @cached_property
    def worker_timeout_seconds(self) -> int:
        return self.find_worker_timeout()
