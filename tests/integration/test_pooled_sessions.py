"""Pooled connections between borrowers (issue 14): jobu's own go back as they are, with no reset
round trip; a connection lent to handler code is reset first, so nothing a handler leaves in its
session (a setting, autocommit off, LOCK TABLES, an open transaction) reaches jobu's statements
or holds a lock while the connection sits idle in the pool. And the worker's statements per run.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncmy
import pytest

from jobu.config import RetryPolicy
from jobu.errors import StoreUnavailableError
from jobu.models import ExecutionStatus, NewExecution, WorkMessage
from jobu.store import JobStore, open_store
from jobu.store.connector import PooledConnector
from jobu.store.mysql import connect_kwargs
from jobu.work_queue import WorkQueue
from jobu.worker import Outcome, Worker
from tests.conftest import MYSQL_HOST, MYSQL_PORT, MYSQL_USER

RETRY = RetryPolicy(base=timedelta(seconds=10), max=timedelta(seconds=900))

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def event_run(
    offset: int, handler_name: str = "sample", params: dict[str, Any] | None = None
) -> NewExecution:
    return NewExecution(
        job_id=None,
        handler_name=handler_name,
        params=params or {},
        param_source="event",
        max_retry=0,
        timeout_seconds=30,
        source_topic="t",
        source_partition=0,
        source_offset=offset,
    )


async def one_connection_store(url: str) -> JobStore:
    """A pool of one connection: every borrower gets the connection the one before it had."""
    store = await open_store(url, max_connections=1)
    await store.migrate()
    return store


@pytest.fixture
async def postgres_store(postgres_url: str) -> AsyncIterator[JobStore]:
    store = await one_connection_store(postgres_url)
    yield store
    await store.close()


@pytest.fixture
async def mysql_store(mysql_url: str) -> AsyncIterator[JobStore]:
    store = await one_connection_store(mysql_url)
    yield store
    await store.close()


async def statement_log(store: JobStore) -> list[str]:
    """Every statement the pool's one PostgreSQL connection runs from now on."""
    statements: list[str] = []
    async with store.connector.connection() as conn:
        conn.add_query_logger(lambda logged: statements.append(" ".join(logged.query.split())))
    return statements


async def status_seen_elsewhere(url: str, execution_id: int) -> ExecutionStatus:
    """The run's status as another connection sees it: what was committed."""
    other = await open_store(url, max_connections=1)
    try:
        run = await other.runs.get(execution_id)
    finally:
        await other.close()
    assert run is not None
    return run.status


async def claim(store: JobStore, execution_id: int) -> None:
    claimed = await store.runs.claim(execution_id, attempt=0, now=T0, deadline_at=T0 + timedelta(minutes=1))
    assert claimed is not None


# PostgreSQL ------------------------------------------------------------------------------------


async def test_postgres_jobu_connections_go_back_without_a_reset_query(postgres_store: JobStore) -> None:
    (run,) = await postgres_store.runs.insert_events([event_run(1)], now=T0)
    statements = await statement_log(postgres_store)
    await claim(postgres_store, run.id)
    await postgres_store.runs.get(run.id)
    assert len(statements) == 2
    assert statements[0].startswith("WITH claimed AS ( UPDATE job_executions SET status = 'RUNNING'")
    assert statements[1] == "SELECT * FROM job_executions WHERE id = $1;"


async def test_postgres_a_lent_connection_is_reset_before_jobu_uses_it(
    postgres_store: JobStore, postgres_url: str
) -> None:
    (run,) = await postgres_store.runs.insert_events([event_run(1)], now=T0)
    statements = await statement_log(postgres_store)
    async with postgres_store.connector.connection() as conn:
        postgres_store.connector.lend(conn)
        # what a handler could leave behind: every later statement of the session read-only
        await conn.execute("SET default_transaction_read_only = on")
    assert any("RESET ALL" in statement for statement in statements)
    await claim(postgres_store, run.id)  # would fail: "cannot execute UPDATE in a read-only transaction"
    assert await status_seen_elsewhere(postgres_url, run.id) is ExecutionStatus.RUNNING


async def test_postgres_a_transaction_left_open_by_handler_code_is_rolled_back(
    postgres_store: JobStore, postgres_url: str
) -> None:
    (run,) = await postgres_store.runs.insert_events([event_run(1)], now=T0)
    async with postgres_store.connector.connection() as conn:
        postgres_store.connector.lend(conn)
        await conn.execute("BEGIN")
        await conn.execute("UPDATE job_executions SET error_message = 'left open' WHERE id = $1", run.id)
    await claim(postgres_store, run.id)  # autocommit again: committed at once
    other = await open_store(postgres_url, max_connections=1)
    try:
        seen = await other.runs.get(run.id)
    finally:
        await other.close()
    assert seen is not None
    assert (seen.status, seen.error_message) == (ExecutionStatus.RUNNING, None)


async def test_worker_runs_a_sample_message_in_two_statements_on_postgres(postgres_store: JobStore) -> None:
    import jobu_handlers  # noqa: F401  (registers sample)

    (run,) = await postgres_store.runs.insert_events([event_run(1)], now=T0)
    # whether any notification rule is enabled is read once per container every 10 s, not per run
    assert not await postgres_store.notifications.any_enabled()
    statements = await statement_log(postgres_store)
    worker = Worker(postgres_store, WorkQueue(sqs_client=None, queue_url="unused"), RETRY)  # type: ignore[arg-type]
    message = WorkMessage(execution_id=run.id, attempt=0)
    assert await worker.process(message, remaining_seconds=60) is Outcome.SUCCESS
    claim_statement, finish_statement = statements
    # the claim returns the run and, for one admitted under limits, its handler's row (one statement)
    assert claim_statement.startswith("WITH claimed AS ( UPDATE job_executions SET status = 'RUNNING'")
    assert claim_statement.endswith("h.handler_name = c.handler_name;")
    assert finish_statement.startswith("UPDATE job_executions SET status = $")
    assert finish_statement.endswith("AND status = 'RUNNING' AND retry_count = $6;")
    # a duplicate delivery: the claim finds nothing, one read says why
    statements.clear()
    assert await worker.process(message, remaining_seconds=60) is Outcome.DUPLICATE
    assert len(statements) == 2


async def test_worker_runs_a_transactional_handler_on_the_claim_connection(
    postgres_store: JobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jobu_handlers  # noqa: F401  (registers sample1)

    (run,) = await postgres_store.runs.insert_events(
        [event_run(1, "sample1", {"name": "one", "value": 1})], now=T0
    )
    checkouts = 0
    real_checkout = PooledConnector._checkout

    async def counted(self: PooledConnector) -> Any:
        nonlocal checkouts
        checkouts += 1
        return await real_checkout(self)

    monkeypatch.setattr(PooledConnector, "_checkout", counted)
    statements = await statement_log(postgres_store)
    checkouts = 0
    worker = Worker(postgres_store, WorkQueue(sqs_client=None, queue_url="unused"), RETRY)  # type: ignore[arg-type]
    assert await worker.process(WorkMessage(execution_id=run.id, attempt=0), remaining_seconds=60) is (
        Outcome.SUCCESS
    )
    assert checkouts == 1
    verbs = [s.split()[0] for s in statements]
    # claim; the transaction with the handler's INSERT and the SUCCESS; then the handler's
    # session is reset before the connection goes back
    assert verbs[:2] == ["WITH", "BEGIN;"]
    assert "INSERT" in verbs
    assert verbs[-3:-1] == ["UPDATE", "COMMIT;"]
    assert "RESET ALL" in statements[-1]


# MySQL / MariaDB -------------------------------------------------------------------------------


async def test_mysql_autocommit_left_off_by_handler_code_does_not_swallow_jobu_writes(
    mysql_store: JobStore, mysql_url: str
) -> None:
    (run,) = await mysql_store.runs.insert_events([event_run(1)], now=T0)
    async with mysql_store.connector.connection() as conn:
        mysql_store.connector.lend(conn)
        async with conn.cursor() as cursor:
            await cursor.execute("SET autocommit = 0")
    # without the reset, this UPDATE opens a transaction nobody commits: asyncmy's pool then
    # closes the connection and the server rolls the claim back
    await claim(mysql_store, run.id)
    assert await status_seen_elsewhere(mysql_url, run.id) is ExecutionStatus.RUNNING


async def drop_database_waiting_at_most(url: str, seconds: int) -> None:
    """DROP DATABASE from another session, giving up on its metadata lock after `seconds`."""
    admin = await asyncmy.connect(host=MYSQL_HOST, port=MYSQL_PORT, user=MYSQL_USER, autocommit=True)
    try:
        async with admin.cursor() as cursor:
            await cursor.execute(f"SET SESSION lock_wait_timeout = {seconds}")
            await cursor.execute(f"DROP DATABASE `{connect_kwargs(url)['db']}`")
    finally:
        admin.close()


@pytest.mark.parametrize(
    "left_behind",
    [
        # a handler that locks a table and returns without UNLOCK TABLES
        ["LOCK TABLES job_executions READ"],
        # autocommit off, then a statement that fails: it opened a transaction (and took the
        # table's metadata lock) but wrote nothing, so InnoDB lists no transaction, and its error
        # packet carries no status, so asyncmy's pool does not see one either
        ["SET autocommit = 0", "INSERT INTO job_executions (id) VALUES (NULL)"],
    ],
)
async def test_mysql_idle_pooled_connection_holds_no_metadata_lock_a_handler_took(
    mysql_store: JobStore, mysql_url: str, left_behind: list[str]
) -> None:
    async with mysql_store.connector.connection() as conn:
        mysql_store.connector.lend(conn)
        async with conn.cursor() as cursor:
            for statement in left_behind:
                with contextlib.suppress(asyncmy.errors.OperationalError):
                    await cursor.execute(statement)
    assert mysql_store.connector._pool.freesize == 1  # type: ignore[attr-defined]  # idle in the pool
    # before the reset, this waited on the idle connection's metadata lock (the 40 minutes:
    # lock_wait_timeout is a year by default)
    await drop_database_waiting_at_most(mysql_url, 3)


async def test_mysql_jobu_session_settings_survive_the_reset(mysql_store: JobStore) -> None:
    async with mysql_store.connector.connection() as conn:
        mysql_store.connector.lend(conn)
        async with conn.cursor() as cursor:
            await cursor.execute("SET time_zone = '+05:00', @left_behind = 1")
    async with mysql_store.connector.connection() as conn, conn.cursor() as cursor:
        await cursor.execute("SELECT @@session.time_zone, @@session.autocommit, @left_behind")
        assert await cursor.fetchone() == ("+00:00", 1, None)


async def test_mysql_cancelled_transaction_is_a_cancellation(mysql_store: JobStore) -> None:
    started = asyncio.Event()

    async def long_transaction() -> None:
        async with mysql_store.connector.transaction() as conn, conn.cursor() as cursor:
            await cursor.execute("UPDATE job_executions SET error_message = NULL")
            started.set()
            await cursor.execute("SELECT SLEEP(10)")

    task = asyncio.create_task(long_transaction())
    await started.wait()
    await asyncio.sleep(0.1)
    task.cancel()
    # was: asyncmy's InterfaceError "Cancelled during execution" from the rollback, in its place
    with pytest.raises(asyncio.CancelledError):
        await task
    # the cancelled statement's connection is gone, not back in the pool; the next one works
    assert await mysql_store.runs.list_recent() == []


async def test_store_unavailable_is_still_translated_inside_a_transaction(mysql_store: JobStore) -> None:
    async def killed() -> None:
        async with mysql_store.connector.transaction() as conn, conn.cursor() as cursor:
            await cursor.execute("SELECT CONNECTION_ID()")
            (connection_id,) = await cursor.fetchone()
            await kill(connection_id)
            await cursor.execute("SELECT 1")

    with pytest.raises(StoreUnavailableError):
        await killed()
    assert await mysql_store.runs.list_recent() == []


async def kill(connection_id: int) -> None:
    admin = await asyncmy.connect(host=MYSQL_HOST, port=MYSQL_PORT, user=MYSQL_USER, autocommit=True)
    try:
        async with admin.cursor() as cursor:
            await cursor.execute(f"KILL {int(connection_id)}")
    finally:
        admin.close()
