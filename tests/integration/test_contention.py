"""The tick under contention, on the real servers: concurrent ticks, busy job rows, a database that
restarts between two ticks. Concurrency here is real: each actor has a store (a pool) or a
connection of its own, and the servers see them at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from jobu.store import JobStore, connector, open_store
from tests.support.contention import job_ids, runs_per_slot, seed_jobs, tick
from tests.support.private_mariadb import PrivateMariaDB
from tests.support.private_postgres import PrivatePostgres

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


@pytest.fixture(params=["postgres", "mysql"])
def pooled_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
async def store(pooled_url: str) -> AsyncIterator[JobStore]:
    opened = await open_store(pooled_url)
    await opened.migrate()
    yield opened
    await opened.close()


async def test_concurrent_ticks_for_the_same_minute_never_fail_and_create_each_slot_once(
    store: JobStore, pooled_url: str
) -> None:
    """Three dispatchers tick the same minute over 5,000 due jobs (three chunks each), for three
    minutes in a row. On MariaDB under REPEATABLE READ the ticks' next-key locks on the due index
    deadlocked against each other's moves, and a tick failed as "MySQL is unreachable"."""
    await seed_jobs(store, 5000, next_run_at=T0)
    ids = await job_ids(store)
    stores = [await open_store(pooled_url) for _ in range(3)]
    try:
        for minute in range(3):
            at = T0 + minute * MINUTE
            reports = await asyncio.gather(*(tick(s, at) for s in stores))
            assert sum(r.jobs for r in reports) == 5000, [r.jobs for r in reports]
            assert not any(r.more_due for r in reports)
    finally:
        for opened in stores:
            await opened.close()
    runs = await runs_per_slot(store)
    expected = {(job_id, T0 + m * MINUTE) for job_id in ids for m in range(3)}
    assert set(runs) == expected
    assert set(runs.values()) == {1}


async def test_a_deadlocked_transaction_is_run_again_not_reported_unreachable(
    store: JobStore, pooled_url: str
) -> None:
    """Two stores (two pools) lock the same two job rows in opposite orders; the database rolls one
    transaction back to break the deadlock, and its connector runs it again: both succeed."""
    await seed_jobs(store, 2, next_run_at=T0)
    first, second = await job_ids(store)
    other = await open_store(pooled_url)
    queries = store.connector.jobu_queries
    attempts: list[str] = []

    def locking(name: str, order: tuple[int, int]) -> Callable[[object], Awaitable[str]]:
        async def work(conn: object) -> str:
            attempts.append(name)
            await queries.lock_cron_job(conn, job_id=order[0])
            await asyncio.sleep(0.3 if attempts.count(name) == 1 else 0)  # both hold their first row
            await queries.lock_cron_job(conn, job_id=order[1])
            return name

        return work

    try:
        done = await asyncio.gather(
            store.connector.run(locking("a", (first, second)), transaction=True),
            other.connector.run(locking("b", (second, first)), transaction=True),
        )
    finally:
        await other.close()
    assert done == ["a", "b"]
    assert len(attempts) == 3, attempts  # the deadlock's victim ran once more


@pytest.fixture(params=["postgres", "mysql"])
def restartable(request: pytest.FixtureRequest) -> Iterator[tuple[str, Callable[[], None]]]:
    """A private server the test may restart, and the URL of an empty database on it."""
    if request.param == "postgres":
        with PrivatePostgres() as postgres:
            postgres.psql("CREATE DATABASE jobu")
            yield postgres.url("jobu"), postgres.restart
    else:
        with PrivateMariaDB() as mariadb:
            mariadb.sql("CREATE DATABASE jobu")
            mariadb.sql("CREATE USER 'jobu'@'%' IDENTIFIED BY 'jobu-secret'")
            mariadb.sql("GRANT ALL ON jobu.* TO 'jobu'@'%'")
            yield mariadb.url("jobu", "jobu-secret", "jobu"), mariadb.restart


@pytest.mark.parametrize("idle_check", [True, False], ids=["idle-check", "retry-only"])
async def test_the_tick_after_a_database_restart_succeeds_on_the_same_pool(
    restartable: tuple[str, Callable[[], None]], idle_check: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A warm container's pool keeps connections the restart closed. The next tick must not fail:
    the idle pool's first connection is checked before it is lent; and without that check (a
    restart between two statements), the statement that meets the dead connection runs again on
    a fresh one."""
    url, restart = restartable
    if not idle_check:
        monkeypatch.setattr(connector, "IDLE_CHECK_SECONDS", float("inf"))
    store = await open_store(url, max_connections=4)
    try:
        await store.migrate()
        await seed_jobs(store, 300, next_run_at=T0)
        # every connection of the pool in use once, so each is one the restart will close
        await asyncio.gather(*(store.ping() for _ in range(8)))
        first = await tick(store, T0)
        restart()  # the loop does not run meanwhile, as in a frozen Lambda container
        second = await tick(store, T0 + MINUTE)
        third = await tick(store, T0 + 2 * MINUTE)
    finally:
        await store.close()
    assert (first.jobs, second.jobs, third.jobs) == (300, 300, 300)
    assert len(second.dispatched) == 300
