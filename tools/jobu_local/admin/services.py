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
from pathlib import Path
from typing import TYPE_CHECKING

from jobu.handler_manifest import known_handler_names
from jobu_local.errors import Refusal

if TYPE_CHECKING:
    from jobu.dead_letter_queue import DeadLetterQueue
    from jobu.store import JobStore
    from jobu.work_queue import WorkQueue


class NoDatabase(Refusal):
    """The database the command would act on does not exist."""


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
