"""What the admin routes run on when the `jobu` CLI acts on a database: jobu.api.services.Services
over that database and every worker pool's queues the caller finds (the running runtime's, or the
environment's).

Each part is found when a route first asks for it: listing runs opens the database and nothing
else, creating a cron job reads the pools' worker timeouts (the template) and no queue, and a
missing queue is said (the caller's function raises a JobuToolError that says how to provide it)
only by a route that queues runs or reads a pool's queues, before it writes anything. The database
is opened once, and migrated first when asked (the commands that create).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobu.handler_manifest import known_handler_names
from jobu_local.errors import Refusal

if TYPE_CHECKING:
    from jobu.dead_letter_queue import DeadLetterQueue, SqsQueue
    from jobu.pools import Pools
    from jobu.store import JobStore
    from jobu.work_queue import WorkQueue


class NoDatabase(Refusal):
    """The database the command would act on does not exist."""


@dataclass
class DatabaseServices:
    database_url: str
    find_pools: Callable[[], Pools]  # every pool's work and dead-letter queues
    find_sqs: Callable[[], Any]  # the SQS client they are reached with
    find_worker_timeouts: Callable[[], Mapping[str, int]]  # by pool
    migrate: bool = False
    _store: JobStore | None = None

    async def store(self) -> JobStore:
        if self._store is None:
            from jobu.store import open_store

            self._check_file()
            store = await open_store(self.database_url)
            if self.migrate:
                try:
                    await store.migrate()
                except BaseException:
                    await store.close()
                    raise
            self._store = store
        return self._store

    def _check_file(self) -> None:
        """A SQLite file that is not there is said so, with what creates it (SQLite itself would
        say only "unable to open database file", or make an empty one); a command that creates
        (migrate) makes its folder."""
        from jobu.store.sqlite import sqlite_path

        if not self.database_url.startswith("sqlite:///"):
            return
        path = Path(sqlite_path(self.database_url))
        if self.migrate:
            path.parent.mkdir(parents=True, exist_ok=True)
        elif not path.exists():
            raise NoDatabase(
                f"no database at {path}: start the local runtime (`jobu local up`, or `make local`), which "
                "creates it, or name yours with --database-url or JOBU_DATABASE_URL (or an admin API with "
                "--api-url)"
            )

    async def close(self) -> None:
        if self._store is not None:
            await self._store.close()
            self._store = None

    @cached_property
    def pools(self) -> Pools:
        return self.find_pools()

    @cached_property
    def _sqs(self) -> Any:
        return self.find_sqs()

    @cached_property
    def queue(self) -> WorkQueue:
        from jobu.work_queue import WorkQueue

        return WorkQueue(sqs_client=self._sqs, queue_urls=self.pools.queue_urls)

    def dead_letters(self, pool: str) -> DeadLetterQueue:
        from jobu.api.services import dead_letter_queue

        return dead_letter_queue(self._sqs, self.pools, pool)

    def work_queue(self, pool: str) -> SqsQueue:
        from jobu.api.services import work_queue

        return work_queue(self._sqs, self.pools, pool)

    @property
    def known_handlers(self) -> frozenset[str]:
        return known_handler_names()

    @cached_property
    def worker_timeouts(self) -> Mapping[str, int]:
        return self.find_worker_timeouts()
