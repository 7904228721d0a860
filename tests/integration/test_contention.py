"""The tick under contention, on the real servers: concurrent ticks, busy job rows, a database that
restarts between two ticks. Concurrency here is real: each actor has a store (a pool) or a
connection of its own, and the servers see them at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from jobu import cron_dispatch
from jobu.store import JobStore, connector, open_store
from tests.support.contention import (
    job_ids,
    rows_held,
    runs_per_slot,
    seed_jobs,
    sql_time,
    tick,
)
from tests.support.private_mariadb import PrivateMariaDB
from tests.support.private_postgres import PrivatePostgres

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


@pytest.fixture(params=["postgres", "mysql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Row locks, pools and servers to restart: the two backends that have them (the `store`
    fixture opens a migrated store on it)."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


async def test_concurrent_ticks_for_the_same_minute_never_fail_and_create_each_slot_once(
    store: JobStore, database_url: str
) -> None:
    """Three dispatchers tick the same minute over 5,000 due jobs (three chunks each), for three
    minutes in a row. On MariaDB under REPEATABLE READ the ticks' next-key locks on the due index
    deadlocked against each other's moves, and a tick failed as "MySQL is unreachable"."""
    await seed_jobs(store, 5000, next_run_at=T0)
    ids = await job_ids(store)
    stores = [await open_store(database_url) for _ in range(3)]
    try:
        for minute in range(3):
            at = T0 + minute * MINUTE
            reports = await asyncio.gather(*(tick(s, at) for s in stores))  # none may raise
            assert not any(r.more_due or r.failed for r in reports), reports
            runs = await runs_per_slot(store)
            # each job's slot once, whichever tick took it (the three split the jobs between them)
            assert {job for (job, slot) in runs if slot == at} == set(ids), [r.jobs for r in reports]
    finally:
        for opened in stores:
            await opened.close()
    runs = await runs_per_slot(store)
    expected = {(job_id, T0 + m * MINUTE) for job_id in ids for m in range(3)}
    assert set(runs) == expected
    assert set(runs.values()) == {1}


async def test_a_deadlocked_transaction_is_run_again_not_reported_unreachable(
    store: JobStore, database_url: str
) -> None:
    """Two stores (two pools) lock the same two job rows in opposite orders; the database rolls one
    transaction back to break the deadlock, and its connector runs it again: both succeed."""
    await seed_jobs(store, 2, next_run_at=T0)
    first, second = await job_ids(store)
    other = await open_store(database_url)
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


async def test_a_job_whose_row_is_busy_at_tick_time_still_gets_its_slot(
    store: JobStore, database_url: str
) -> None:
    """During the 12:01 tick another transaction holds the job's row (as a worker promoting a
    queue_one run does) for a second. The tick skipped it (SKIP LOCKED) and the 12:02 tick coalesced
    12:01 away; now the tick comes back for it and waits."""
    await seed_jobs(store, 3, next_run_at=T0)
    busy, *_ = await job_ids(store)
    await tick(store, T0)
    async with rows_held(database_url, [busy]):
        ticking = asyncio.create_task(tick(store, T0 + MINUTE))
        await asyncio.sleep(1.0)
        assert not ticking.done()  # it waits for the row
    report = await ticking
    await tick(store, T0 + 2 * MINUTE)
    assert report.jobs == 3
    runs = await runs_per_slot(store)
    assert {slot for (job, slot) in runs if job == busy} == {T0, T0 + MINUTE, T0 + 2 * MINUTE}
    assert set(runs.values()) == {1}


async def test_a_row_held_longer_than_the_wait_leaves_its_job_due_and_the_tick_whole(
    store: JobStore, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cron_dispatch, "LOCK_WAIT_SECONDS", 1)
    await seed_jobs(store, 3, next_run_at=T0)
    busy, *others = await job_ids(store)
    async with rows_held(database_url, [busy]):
        report = await tick(store, T0)  # waits 1 s twice, then leaves it
    assert report.jobs == 2
    job = await store.cron_jobs.get(busy)
    assert job is not None
    assert job.next_run_at == T0  # still due: the next tick takes it
    assert set(await runs_per_slot(store)) == {(job_id, T0) for job_id in others}


async def test_the_previous_tick_still_writing_costs_no_job_its_next_slot(
    store: JobStore, database_url: str
) -> None:
    """1,500 every-minute jobs: the 12:00 tick still holds them (it has not moved them on yet) when
    the 12:01 tick starts. Each must get its 12:01 run, once."""
    await seed_jobs(store, 1500, next_run_at=T0)
    ids = await job_ids(store)
    async with rows_held(database_url, ids) as execute:
        ticking = asyncio.create_task(tick(store, T0 + MINUTE))
        await asyncio.sleep(1.0)
        # what the 12:00 tick writes before it commits: each job moved on to 12:01
        await execute(f"UPDATE cron_jobs SET next_run_at = {sql_time(store.backend, T0 + MINUTE)}")
    report = await ticking
    assert report.jobs == 1500
    runs = await runs_per_slot(store)
    assert set(runs) == {(job_id, T0 + MINUTE) for job_id in ids}
    assert set(runs.values()) == {1}


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


async def test_a_continuation_overtaken_by_the_next_minute_costs_no_slot(store: JobStore) -> None:
    """3,000 every-minute jobs: the 12:00 tick runs out of time after its first chunk and asks for a
    continuation, which comes after the 12:01 tick (or beside it). The 12:01 tick reaches 12:00
    60 s after its time: not missed, so it still runs, once."""
    await seed_jobs(store, 3000, next_run_at=T0)
    ids = await job_ids(store)
    cut_short = await tick(store, T0, time_left=lambda: 0.0)
    assert cut_short.more_due
    await tick(store, T0 + MINUTE)
    continuation = await tick(store, T0)
    assert continuation.jobs == 0  # the 12:01 tick had taken them all
    runs = await runs_per_slot(store)
    assert set(runs) == {(job_id, T0 + m * MINUTE) for job_id in ids for m in range(2)}
    assert set(runs.values()) == {1}


async def test_cancels_racing_claims_never_deadlock(store: JobStore, database_url: str) -> None:
    """60 PENDING runs, each cancelled by an operator (one pool) while a worker claims it (another):
    one of the two wins each, and neither fails. Under REPEATABLE READ, MariaDB's locks on the
    runs' status index made some of these pairs deadlock."""
    await seed_jobs(store, 60, next_run_at=T0)
    report = await tick(store, T0)
    worker = await open_store(database_url)
    now = T0 + timedelta(seconds=5)
    try:
        outcomes = []
        for run_id in sorted(report.dispatched):
            cancelled, claimed = await asyncio.gather(
                store.runs.cancel(run_id, reason="cancelled by an operator", now=now),
                worker.runs.claim(run_id, attempt=0, now=now, deadline_at=now + timedelta(minutes=5)),
            )
            outcomes.append((cancelled, claimed is not None))
    finally:
        await worker.close()
    assert len(outcomes) == 60
    # the cancel came first (the claim finds it CANCELLED), or the claim did (the cancel is asked of it)
    assert set(outcomes) <= {("cancelled", False), ("requested", True)}, outcomes
