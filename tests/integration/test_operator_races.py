"""Operator actions racing the system: the admin function's entry point (API Gateway v2 events),
the worker and the cron dispatcher on PostgreSQL, MariaDB and SQLite, with the races played by
separate connections, threads or processes at once.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest

from jobu.handlers import BaseHandler, HandlerParams, HandlerResult, handler
from jobu.models import ExecutionStatus, NewExecution
from jobu.store import JobStore, open_store
from jobu.store.runs import Runs
from tests.support.admin_client import AdminClient, AdminResponse, api_event
from tests.support.harness import FakeLambdaContext, Harness, reset_containers, work_message

ADMIN_APP = Path(__file__).parents[2] / "functions" / "admin_api" / "app.py"


@handler("test_races_tx_sleeper")
class TransactionalSleeper(BaseHandler):
    """Writes an item through the run's transaction, then sleeps params.value seconds."""

    transactional = True
    cancelled: ClassVar[set[int]] = set()

    async def execute(self, params: HandlerParams) -> HandlerResult:
        from jobu_handlers.samples import CreateSampleItem

        await CreateSampleItem(self.context).execute(HandlerParams(name="rolled back if cancelled"))
        try:
            await asyncio.sleep(float(params.value))
        except asyncio.CancelledError:
            self.cancelled.add(self.context.execution_id)
            raise
        return HandlerResult(action="slept")


@handler("test_races_fails_first")
class FailsFirst(BaseHandler):
    """Its first attempt fails after params.value seconds (before the worker's cancel poll); a later
    attempt works for twice that (past the poll), then succeeds."""

    async def execute(self, params: HandlerParams) -> HandlerResult:
        if self.context.retry_count == 0:
            await asyncio.sleep(float(params.value))
            raise RuntimeError("the first attempt fails")
        await asyncio.sleep(2 * float(params.value))
        return HandlerResult(action="done")


def create(admin: AdminClient, name: str, **fields: Any) -> dict[str, Any]:
    body = {"name": name, "cron_expression": "0 2 * * *", "handler_name": "sample", **fields}
    response = admin.post("/api/crons", body=body)
    assert response.status == 201, response.body
    created: dict[str, Any] = response.json
    return created


def first_slot(job: dict[str, Any]) -> datetime:
    """The job's first slot: a tick then, on time, gives it exactly one run."""
    return datetime.fromisoformat(job["next_run_at"])


def emitted_metrics(out: str) -> dict[str, list[float]]:
    documents = [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]
    found: dict[str, list[float]] = {}
    for document in documents:
        for definition in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            found.setdefault(definition["Name"], []).extend(document[definition["Name"]])
    return found


# --- deleting a queue_one job while one of its runs is WAITING ----------------------------------------


def test_deleting_a_queue_one_job_with_a_waiting_run_cancels_it_and_ticks_go_on(
    harness: Harness, admin: AdminClient
) -> None:
    held = create(admin, "held", overlap_policy="queue_one")
    healthy = create(admin, "healthy", cron_expression="* * * * *")
    first = admin.post(f"/api/crons/{held['id']}/run")
    second = admin.post(f"/api/crons/{held['id']}/run")
    assert (first.json["run"]["status"], second.json["run"]["status"]) == ("PENDING", "WAITING")

    assert admin.delete(f"/api/crons/{held['id']}").status == 204
    assert harness.drain_queue() == 1  # the first run ends; nothing promotes the second
    runs = {run.id: run for run in harness.executions()}
    active, waiting = runs[first.json["run"]["id"]], runs[second.json["run"]["id"]]
    assert (active.status, active.job_id) == ("SUCCESS", None)
    assert (waiting.status, waiting.job_id) == ("CANCELLED", None)
    assert "its cron job was deleted" in str(waiting.error_message)

    tick = first_slot(healthy)
    report = harness.tick(tick)
    assert (report["failed"], report["sweep"]["failed"]) == ([], [])
    (run,) = [run for run in harness.executions() if run.job_id == healthy["id"]]
    assert (run.scheduled_time, run.id in report["dispatched"]) == (tick, True)


def test_a_waiting_run_left_without_its_job_is_cancelled_by_the_tick(
    harness: Harness, admin: AdminClient
) -> None:
    """A WAITING run whose job was deleted by an older jobu (or behind jobu's back) never stops a
    tick: the sweeper cancels it, and the due job still gets its run."""
    held = create(admin, "held", overlap_policy="queue_one")
    healthy = create(admin, "healthy", cron_expression="* * * * *")
    admin.post(f"/api/crons/{held['id']}/run")
    waiting = admin.post(f"/api/crons/{held['id']}/run").json["run"]

    async def delete_behind_jobus_back(store: JobStore) -> None:
        async with store.connector.connection() as conn:
            await store.connector.jobu_queries.delete_cron_job_by_id(conn, id=held["id"])

    harness.with_store(delete_behind_jobus_back)
    assert harness.drain_queue() == 1  # the active run ends; nothing promotes the other
    (orphan,) = [run for run in harness.executions() if run.id == waiting["id"]]
    assert (orphan.status, orphan.job_id) == ("WAITING", None)

    tick = first_slot(healthy)
    report = harness.tick(tick)
    assert (report["failed"], report["sweep"]["failed"]) == ([], [])
    (orphan,) = [run for run in harness.executions() if run.id == waiting["id"]]
    assert orphan.status == "CANCELLED"
    (run,) = [run for run in harness.executions() if run.job_id == healthy["id"]]
    assert (run.scheduled_time, run.id in report["dispatched"]) == (tick, True)


def test_a_failing_part_of_the_tick_is_logged_and_counted_and_the_others_run(
    harness: Harness,
    admin: AdminClient,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    healthy = create(admin, "healthy", cron_expression="* * * * *")
    unsent = harness.insert_event_run("sample", {}, now=datetime.now(UTC) - timedelta(minutes=5))

    async def broken(*_: Any, **__: Any) -> list[int]:
        raise RuntimeError("a row the sweeper cannot read")

    monkeypatch.setattr(Runs, "jobs_with_promotable", broken)
    tick = first_slot(healthy)
    capsys.readouterr()
    report = harness.tick(tick)
    assert report["sweep"]["failed"] == ["promote"]
    assert report["sweep"]["requeued"] == [unsent]  # the sweeper's next part still ran

    monkeypatch.setattr("jobu.cron_dispatch.sweep", broken)
    later = harness.tick(tick + timedelta(minutes=1))
    assert later["failed"] == ["sweep"]
    runs = sorted(run.scheduled_time for run in harness.executions() if run.job_id == healthy["id"])
    assert runs == [tick, tick + timedelta(minutes=1)]
    assert emitted_metrics(capsys.readouterr().out)["TickPartFailures"] == [1.0, 1.0]


# --- retention against a bulk retry ----------------------------------------------------------------


def failed_runs(harness: Harness, count: int, *, ended: datetime) -> list[int]:
    """`count` event runs that ended FAILED at `ended`, as the worker ends them."""
    ids = [harness.insert_event_run("sample", {}, now=ended) for _ in range(count)]

    async def fail(store: JobStore) -> None:
        for execution_id in ids:
            deadline = ended + timedelta(minutes=5)
            assert await store.runs.claim(execution_id, attempt=0, now=ended, deadline_at=deadline)
            failed = ExecutionStatus.FAILED
            await store.runs.finish(
                execution_id, attempt=0, status=failed, result=None, error_message="failed", now=ended
            )

    harness.with_store(fail)
    return ids


class Held:
    """Holds the first request that runs `query` just before it, until released (or `seconds`
    passed): what that request did before in its transaction (row locks) stays held meanwhile.
    `rows`: the query returns rows (an async generator), else a value."""

    def __init__(
        self,
        harness: Harness,
        monkeypatch: pytest.MonkeyPatch,
        query: str,
        *,
        rows: bool,
        seconds: float = 30,
        after: bool = False,
        on_thread_of: Held | None = None,
    ) -> None:
        """`after`: hold once the query has run. `on_thread_of`: hold the first call made on the
        thread (the container's event loop) that reached that other hold, and no other."""
        self.reached, self.released = threading.Event(), threading.Event()
        self.thread: int | None = None
        first = threading.Lock()
        queries = harness.with_store(_queries)
        original = getattr(queries, query)

        async def hold() -> None:
            if on_thread_of is not None and on_thread_of.thread != threading.get_ident():
                return
            if first.acquire(blocking=False):  # the first caller only
                self.thread = threading.get_ident()
                self.reached.set()
                await asyncio.to_thread(self.released.wait, seconds)

        async def held_rows(conn: Any, **params: Any) -> AsyncIterator[Any]:
            await hold()
            async for row in original(conn, **params):
                yield row

        async def held_value(conn: Any, **params: Any) -> Any:
            if not after:
                await hold()
            value = await original(conn, **params)
            if after:
                await hold()
            return value

        monkeypatch.setattr(queries, query, held_rows if rows else held_value)


async def _queries(store: JobStore) -> Any:
    return store.connector.jobu_queries


def waiting_on_a_lock(harness: Harness, statement: str) -> bool:
    async def look(store: JobStore) -> bool:
        async with store.connector.connection() as conn:
            waiting = await conn.fetchval(
                # this test's database only: a test in another xdist worker may wait on the same statement
                "SELECT COUNT(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE $1",
                f"%{statement}%",
            )
        return bool(waiting)

    return harness.with_store(look)


def until(condition: Callable[[], bool], *, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the race did not happen"
        time.sleep(0.05)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_retention_does_not_delete_runs_an_operator_retried_while_it_waited_on_them(
    harness: Harness, admin: AdminClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tick's retention DELETE chose the runs while they were FAILED, then waited on the row
    locks of a bulk retry making them PENDING: it must not delete them once it gets the rows."""
    monkeypatch.setenv("JOBU_RUN_RETENTION_DAYS", "1")
    reset_containers()
    ids = failed_runs(harness, 20, ended=datetime.now(UTC) - timedelta(days=2))
    # after the UPDATE, before its commit
    retry = Held(harness, monkeypatch, "unqueued_executions_by_ids", rows=True)
    answers: dict[str, Any] = {}
    retrying = threading.Thread(
        target=lambda: answers.update(retry=admin.post("/api/jobs/bulk-retry", body={"dry_run": False}))
    )
    ticking = threading.Thread(target=lambda: answers.update(tick=harness.invoke_cron({})))
    retrying.start()
    assert retry.reached.wait(30)
    ticking.start()
    until(lambda: waiting_on_a_lock(harness, "DELETE FROM job_executions"))
    retry.released.set()
    retrying.join(60)
    ticking.join(60)

    assert answers["retry"].status == 200, answers["retry"].body
    assert (answers["retry"].json["ids"], answers["retry"].json["queued"]) == (ids, ids)
    assert answers["tick"]["deleted_runs"] == 0
    runs = harness.executions()
    assert [(run.id, run.status, run.retry_count) for run in runs] == [(i, "PENDING", 1) for i in ids]


# --- a cancel request belongs to its attempt ----------------------------------------------------------


def test_a_cancel_asked_of_an_attempt_that_failed_does_not_cancel_the_operators_retry(
    harness: Harness, admin: AdminClient
) -> None:
    execution_id = harness.insert_event_run("test_races_fails_first", {"value": 1.5})
    answers: dict[str, Any] = {}

    def cancel_once_running() -> None:
        until(lambda: harness.executions()[0].status == "RUNNING")
        answers["cancel"] = admin.post(f"/api/jobs/{execution_id}/cancel")

    cancelling = threading.Thread(target=cancel_once_running)
    cancelling.start()
    assert harness.invoke_worker([work_message(execution_id)]) == {"batchItemFailures": []}
    cancelling.join(30)
    assert answers["cancel"].json["outcome"] == "requested"
    (failed,) = harness.executions()
    assert failed.status == "FAILED"  # it failed before its worker looked for the request

    retried = admin.post(f"/api/jobs/{execution_id}/retry")
    assert (retried.status, retried.json["queued"]) == (200, True)
    assert harness.drain_queue() == 1
    (run,) = harness.executions()
    assert (run.status, run.retry_count, run.cancel_requested_at) == ("SUCCESS", 1, None)


# --- updates and toggles of one cron job at once ---------------------------------------------------


class OtherContainer(AdminClient):
    """The admin function in a second container: its own module instance, event loop and pool."""

    def __init__(self) -> None:
        spec = importlib.util.spec_from_file_location("admin_app_second_container", ADMIN_APP)
        assert spec is not None
        assert spec.loader is not None
        self.app = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.app)

    def request(self, method: str, path: str, **kwargs: Any) -> AdminResponse:
        result = self.app.handler(
            api_event(method, path, **kwargs), FakeLambdaContext(function_name="admin-2")
        )
        return AdminResponse(
            int(result["statusCode"]), dict(result.get("headers") or {}), result.get("body") or ""
        )


@contextmanager
def other_container() -> Iterator[OtherContainer]:
    other = OtherContainer()
    try:
        yield other
    finally:
        other.app.container.close()


Request = Callable[[AdminClient, str], AdminResponse]


def raced(
    harness: Harness,
    admin: AdminClient,
    monkeypatch: pytest.MonkeyPatch,
    *,
    held_query: str,
    first: Request,
    second: Request,
    job: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A job made with `job`; `first` (this container) held just before `held_query` while `second`
    (another container) is asked; both must succeed. Returns the job as it is then."""
    path = f"/api/crons/{create(admin, 'job', **(job or {}))['id']}"
    held = Held(harness, monkeypatch, held_query, rows=False, seconds=3)
    answers: list[AdminResponse] = []
    with other_container() as other:
        thread = threading.Thread(target=lambda: answers.append(first(admin, path)))
        thread.start()
        assert held.reached.wait(30)
        answers.append(second(other, path))  # through at once (nothing serializes it), or after the hold
        held.released.set()
        thread.join(30)
    assert [answer.status for answer in answers] == [200, 200], [answer.body for answer in answers]
    changed: dict[str, Any] = admin.get(path).json
    return changed


def put(body: dict[str, Any]) -> Request:
    return lambda client, path: client.put(path, body=body)


def toggle(client: AdminClient, path: str) -> AdminResponse:
    return client.post(f"{path}/toggle")


def test_two_updates_of_different_fields_at_once_both_stick(
    harness: Harness, admin: AdminClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = put({"description": "from the first"}), put({"max_retry": 4})
    job = raced(harness, admin, monkeypatch, held_query="update_cron_job", first=first, second=second)
    assert (job["description"], job["max_retry"]) == ("from the first", 4)


def test_an_update_racing_a_toggle_does_not_enable_the_job_again(
    harness: Harness, admin: AdminClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    edit = put({"description": "edited"})
    job = raced(harness, admin, monkeypatch, held_query="update_cron_job", first=edit, second=toggle)
    assert (job["description"], job["is_enabled"], job["next_run_at"]) == ("edited", False, None)


def test_two_toggles_at_once_flip_twice(
    harness: Harness, admin: AdminClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = "set_cron_job_enabled_by_id"
    job = raced(harness, admin, monkeypatch, held_query=query, first=toggle, second=toggle)
    assert job["is_enabled"] is True
    assert job["next_run_at"].endswith("T02:00:00Z")


def test_enabling_a_job_whose_expression_changes_meanwhile_schedules_the_new_one(
    harness: Harness, admin: AdminClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    change = put({"cron_expression": "30 * * * *"})
    job = raced(
        harness,
        admin,
        monkeypatch,
        held_query="set_cron_job_enabled_by_id",
        first=toggle,
        second=change,
        job={"is_enabled": False},
    )
    assert (job["cron_expression"], job["is_enabled"]) == ("30 * * * *", True)
    assert job["next_run_at"].endswith(":30:00Z")  # not the 02:00 of the expression it replaced


# --- run now, retries, backfills and replays racing one another --------------------------------------


def started(target: Callable[[], AdminResponse], answers: list[AdminResponse]) -> threading.Thread:
    thread = threading.Thread(target=lambda: answers.append(target()))
    thread.start()
    return thread


def messages_in_queue(harness: Harness) -> int:
    attributes = harness.sqs.get_queue_attributes(
        QueueUrl=harness.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


@pytest.mark.parametrize("overlap", ["allow", "skip"])
def test_a_run_now_racing_a_delete_of_its_job_is_a_404(
    harness: Harness, admin: AdminClient, monkeypatch: pytest.MonkeyPatch, overlap: str
) -> None:
    path = f"/api/crons/{create(admin, 'job', overlap_policy=overlap)['id']}"
    read = Held(harness, monkeypatch, "get_cron_job", rows=False, after=True)  # run now has read the job
    answers: list[AdminResponse] = []
    with other_container() as other:
        running = started(lambda: admin.post(f"{path}/run"), answers)
        assert read.reached.wait(30)
        assert other.delete(path).status == 204
        read.released.set()
        running.join(30)
    assert (answers[0].status, answers[0].json["error"]) == (404, "not_found"), answers[0].body
    assert harness.executions() == []
    assert messages_in_queue(harness) == 0


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "one"])
def test_two_retries_at_once_each_report_only_the_runs_they_retried(
    harness: Harness, admin: AdminClient, monkeypatch: pytest.MonkeyPatch, bulk: bool
) -> None:
    ids = failed_runs(harness, 3 if bulk else 1, ended=datetime.now(UTC) - timedelta(hours=1))
    # the first retry holds its rows (UPDATE done, not committed), then, committed, waits to mark
    # its runs queued until the second has answered
    retrying = Held(harness, monkeypatch, "unqueued_executions_by_ids", rows=True)
    marking = Held(harness, monkeypatch, "mark_queued", rows=False, seconds=10, on_thread_of=retrying)

    def retry(client: AdminClient) -> AdminResponse:
        if bulk:
            return client.post("/api/jobs/bulk-retry", body={"dry_run": False})
        return client.post(f"/api/jobs/{ids[0]}/retry")

    first: list[AdminResponse] = []
    second: list[AdminResponse] = []
    with other_container() as other:
        one = started(lambda: retry(admin), first)
        assert retrying.reached.wait(30)
        two = started(lambda: retry(other), second)
        two.join(1)  # time to read the runs as FAILED and wait on the first's rows
        retrying.released.set()
        two.join(30)
        marking.released.set()
        one.join(30)
    assert first[0].status == 200, first[0].body
    if bulk:
        assert (first[0].json["ids"], first[0].json["queued"]) == (ids, ids)
        assert (second[0].status, second[0].json["ids"], second[0].json["queued"]) == (200, [], [])
    else:
        assert first[0].json["queued"] is True
        assert (second[0].status, second[0].json["error"]) == (400, "invalid_state")
    assert messages_in_queue(harness) == len(ids)  # each run sent once
    assert [(run.status, run.retry_count) for run in harness.executions()] == [("PENDING", 1)] * len(ids)


def test_two_identical_backfills_at_once_create_and_send_each_run_once(
    harness: Harness, admin: AdminClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = f"/api/crons/{create(admin, 'job', cron_expression='* * * * *')['id']}"
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    body = {"start": (now - timedelta(minutes=29)).isoformat(), "end": now.isoformat(), "dry_run": False}
    inserting = Held(harness, monkeypatch, "insert_cron_runs", rows=False)
    answers: list[AdminResponse] = []
    with other_container() as other:
        first = started(lambda: admin.post(f"{path}/backfill", body=body), answers)
        assert inserting.reached.wait(30)
        second = started(lambda: other.post(f"{path}/backfill", body=body), answers)
        second.join(1)  # through at once, or waiting for the first
        inserting.released.set()
        first.join(30)
        second.join(30)
    assert [answer.status for answer in answers] == [200, 200], [answer.body for answer in answers]
    assert sorted(answer.json["created"] for answer in answers) == [0, 30]
    runs = harness.executions()
    assert len(runs) == len({run.scheduled_time for run in runs}) == 30
    for answer in answers:  # each names every slot's run, the one made by the other as existing
        assert sorted(slot["run_id"] for slot in answer.json["slots"]) == [run.id for run in runs]
    assert messages_in_queue(harness) == 30


def test_a_record_discarded_while_a_replay_refuses_it_again_stays_discarded(
    harness: Harness, admin: AdminClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    value = base64.b64encode(json.dumps({"handler_name": "not-deployed"}).encode()).decode()
    record = {"topic": "jobu-events", "partition": 0, "offset": 7, "value": value}
    harness.invoke_queue({"eventSource": "aws:kafka", "records": {"jobu-events-0": [record]}})
    (rejected,) = admin.get("/api/rejected").json["items"]
    read = Held(harness, monkeypatch, "get_rejected_event", rows=False, after=True)
    answers: list[AdminResponse] = []
    with other_container() as other:
        replaying = started(lambda: admin.post(f"/api/rejected/{rejected['id']}/replay"), answers)
        assert read.reached.wait(30)
        assert other.delete(f"/api/rejected/{rejected['id']}").status == 204
        read.released.set()
        replaying.join(30)
    assert (answers[0].status, answers[0].json["outcome"]) == (200, "rejected")
    assert admin.get("/api/rejected").json["total"] == 0


# --- SQLite: a cancel while a transactional handler holds the database ------------------------------


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_cancel_of_a_running_transactional_run_on_sqlite_is_recorded_and_honoured(
    harness: Harness, admin: AdminClient
) -> None:
    """The handler's transaction holds SQLite's one write lock for as long as it runs; the cancel
    request must not wait for it (it did: 503 after 10 s, or 400 once the run had ended)."""
    execution_id = harness.insert_event_run("test_races_tx_sleeper", {"value": 30})
    answers: list[AdminResponse] = []
    took: list[float] = []

    def cancel_once_running() -> None:
        until(lambda: harness.executions()[0].status == "RUNNING")
        time.sleep(0.5)  # the handler's transaction has begun
        started_at = time.monotonic()
        answers.append(admin.post(f"/api/jobs/{execution_id}/cancel"))
        took.append(time.monotonic() - started_at)

    cancelling = threading.Thread(target=cancel_once_running)
    cancelling.start()
    started_at = time.monotonic()
    assert harness.invoke_worker([work_message(execution_id)]) == {"batchItemFailures": []}
    worked = time.monotonic() - started_at
    cancelling.join(30)
    assert (answers[0].status, answers[0].json["outcome"]) == (200, "requested"), answers[0].body
    assert took[0] < 5, took  # not the 10 s the database's lock wait allows
    (run,) = harness.executions()
    assert (run.status, run.error_message) == ("CANCELLED", "cancelled by an operator")
    assert execution_id in TransactionalSleeper.cancelled
    assert worked < 20, worked  # cut short within the worker's polls, not the handler's 30 s

    async def items(store: JobStore) -> int:
        async with store.connector.connection() as conn:
            cursor = await conn.execute("SELECT COUNT(*) FROM sample_items")
            (found,) = await cursor.fetchone()
            return int(found)

    assert harness.with_store(items) == 0  # the cancelled handler's write was rolled back


async def test_a_cancel_request_kept_apart_never_reaches_a_run_of_a_new_database(tmp_path: Path) -> None:
    """SQLite's requests file outlives the database if someone deletes only the database: a new
    run with the same id and attempt is not the run that was asked to stop."""
    url, t0 = f"sqlite:///{tmp_path / 'jobu.db'}", datetime.now(UTC)

    async def running(started: datetime) -> tuple[JobStore, int]:
        store = await open_store(url)
        await store.migrate()
        (run,) = await store.runs.insert_events([event_run()], now=started)
        deadline = started + timedelta(minutes=5)
        assert await store.runs.claim(run.id, attempt=0, now=started, deadline_at=deadline)
        return store, run.id

    first, run_id = await running(t0)
    assert await first.runs.request_cancel_aside(run_id, now=t0)
    assert await first.runs.cancel_requested(run_id, attempt=0, started_at=t0)
    await first.close()
    await asyncio.to_thread(remove_database_only, tmp_path)

    later = t0 + timedelta(seconds=1)
    second, same_id = await running(later)
    try:
        assert same_id == run_id
        assert not await second.runs.cancel_requested(same_id, attempt=0, started_at=later)
    finally:
        await second.close()


def event_run() -> NewExecution:
    return NewExecution(
        job_id=None,
        handler_name="sample",
        params={},
        param_source="event",
        max_retry=0,
        timeout_seconds=60,
        source_topic="jobu-events",
        source_partition=0,
        source_offset=1,
    )


def remove_database_only(folder: Path) -> None:
    """The database's files, not its cancel requests' file."""
    for leftover in folder.glob("jobu.db*"):
        if not leftover.name.endswith("-cancel-requests"):
            leftover.unlink()
