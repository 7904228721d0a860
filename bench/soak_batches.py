"""The soak's batches (bench/soak.py): batches of runs with completion callbacks, made while the
Kafka records flow, so their runs meet the same faults: duplicate SQS deliveries (a dispatcher's
SendMessageBatch sent twice, or failing after the INSERT so the sweeper sends it), workers killed
with SIGKILL mid-run, on PostgreSQL a crash restart of the server, and runs that fail and retry.

One thread plays an API client: it makes `count` batches over the production window, each of 3 to
25 runs (soak_effect, flaky and lingering, or sample), with an `on_success` and an `on_complete`
callback (the `sample` handler). Half are made by the operation POST /api/batches runs
(jobu.operations.batches.create: max_retry 0, as the API makes them), half by the same store call
with max_retry 3, so their runs fail and retry in the workers. A fifth of the batches are cancelled
by an operator (jobu.operations.batches.cancel) a moment after they were made. A call refused
because the database is down is made again, as a client would (a batch committed whose answer was
lost is a batch too: the check reads every batch of the database).

At the end, from the database, for every batch: it ended (not RUNNING, finished_at set); it has
`total` runs, all ended, and its counters equal its runs' final statuses; it has exactly one
on_complete run, and one on_success run exactly when every run succeeded (no more, however often
a run's end was delivered), each the one the batch row names, made no earlier than its last run
ended (created_at >= every run's finished_at), made by the end of one of its runs (its parent),
with the batch's final counts in its params, and itself SUCCESS; every batch the client was
answered is there.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jobu.models import Batch, Execution, NewExecution
from jobu.operations import batches
from jobu.operations.audit import Actor
from jobu.store import JobStore, open_store
from jobu.work_queue import WorkQueue, dispatch_new_runs

SQL_DIR = Path(__file__).with_name("sql")
KNOWN = frozenset({"soak_effect", "sample"})
ACTOR = Actor("soak-batches")
ON_SUCCESS = {"handler_name": "sample", "params": {"name": "on_success"}}
ON_COMPLETE = {"handler_name": "sample", "params": {"name": "on_complete"}}
ENDS = {"SUCCESS": "succeeded", "FAILED": "failed", "TIMEOUT": "timed_out", "CANCELLED": "cancelled",
        "EXPIRED": "expired"}  # fmt: skip


@dataclass
class BatchClient:
    """The thread that makes (and cancels) batches, and what it was answered."""

    url: str
    queue: WorkQueue
    seed: int
    count: int
    seconds: float
    max_retry: int
    timeout_seconds: int
    fail_rate: float
    linger_ms: int
    cancel_rate: float = 0.2
    made: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    refused: int = 0  # calls refused (the database down) and made again

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        thread.start()
        return thread

    async def _run(self) -> None:
        rng = random.Random(self.seed * 31 + 5)
        store = await _open(self.url)
        try:
            for index in range(self.count):
                await asyncio.sleep(self.seconds / self.count)
                runs = [self._request(rng) for _ in range(rng.randint(3, 25))]
                retrying = index % 2 == 1
                batch_id = await self._again(lambda: self._create(store, runs, retrying=retrying))  # noqa: B023  # awaited at once
                self.made.append(batch_id)
                if rng.random() < self.cancel_rate:
                    await asyncio.sleep(rng.uniform(0.0, 1.5))
                    await self._again(lambda: self._cancel(store, batch_id))  # noqa: B023  # awaited at once
                    self.cancelled.append(batch_id)
        finally:
            await store.close()

    def _request(self, rng: random.Random) -> dict[str, Any]:
        if rng.random() < 0.8:
            params = {"seed": self.seed, "fail_rate": self.fail_rate, "linger_ms": self.linger_ms}
            return {"handler_name": "soak_effect", "params": params}
        return {"handler_name": "sample", "params": {"name": "plain"}}

    async def _again(self, call: Any) -> int:
        while True:
            try:
                result: int = await call()
                return result
            except Exception:  # the database is down (the restart): the client tries again
                self.refused += 1
                await asyncio.sleep(0.5)

    async def _create(self, store: JobStore, runs: list[dict[str, Any]], *, retrying: bool) -> int:
        now = datetime.now(UTC)
        document = {"runs": runs, "on_success": ON_SUCCESS, "on_complete": ON_COMPLETE}
        if not retrying:  # POST /api/batches's operation, as the route calls it
            created = await batches.create(
                store, self.queue, document, known_handlers=KNOWN, now=now, actor=ACTOR
            )
            assert created.batch is not None  # it carries no idempotency key: always made
            return created.batch.id
        # the same checks and store call, with retries for the runs: the API makes them with none
        checked = batches.check_batch(document, known_handlers=KNOWN, now=now)
        children = [_with_retries(run, self.max_retry, self.timeout_seconds) for run in checked.runs]

        async def insert(conn: Any) -> tuple[Batch, list[Execution]]:
            return await store.batches.create(
                children,
                on_success=checked.on_success,
                on_complete=checked.on_complete,
                created_by="soak",
                now=now,
                conn=conn,
            )

        batch, made = await store.connector.run(insert, transaction=True)
        await dispatch_new_runs(store, self.queue, made, now=now, message="soak batch run")
        return batch.id

    async def _cancel(self, store: JobStore, batch_id: int) -> int:
        done = await batches.cancel(store, self.queue, batch_id, now=datetime.now(UTC), actor=ACTOR)
        return done.cancelled


def _with_retries(run: NewExecution, max_retry: int, timeout_seconds: int) -> NewExecution:
    run.max_retry, run.timeout_seconds = max_retry, timeout_seconds
    return run


async def _open(url: str) -> JobStore:
    while True:
        try:
            return await open_store(url)
        except Exception:  # the database is restarting
            await asyncio.sleep(0.5)


# --- the end: what the database says --------------------------------------------------------------


async def _snapshot(url: str) -> tuple[list[Batch], list[Execution]]:
    store = await open_store(url)
    try:
        queries = store.connector.queries(SQL_DIR)
        async with store.connector.connection() as conn:
            found = [Batch.from_row(r) async for r in queries.soak_batches(conn)]
            runs = [Execution.from_row(r) async for r in queries.soak_api_runs(conn)]
    finally:
        await store.close()
    return found, runs


def check(url: str, client: BatchClient) -> list[str]:
    """The batches' violations, and their figures printed."""
    found, runs = asyncio.run(_snapshot(url))
    children: dict[int, list[Execution]] = {}
    callbacks: dict[int, list[Execution]] = {}
    for run in runs:
        if run.batch_id is not None:
            children.setdefault(run.batch_id, []).append(run)
        elif isinstance(run.params.get("batch"), dict):
            callbacks.setdefault(int(run.params["batch"]["id"]), []).append(run)
    violations: list[str] = []
    problems: list[tuple[int, str]] = []
    for batch in found:
        problems += [(batch.id, problem) for problem in _problems(batch, children.get(batch.id, []),
                                                                  callbacks.get(batch.id, []))]  # fmt: skip
    if problems:
        violations.append(f"{len(problems)} batch problems (e.g. {problems[:4]})")
    if missing := sorted(set(client.made) - {batch.id for batch in found}):
        violations.append(
            f"{len(missing)} batches answered to the client are not in the database: {missing[:5]}"
        )
    if strays := sorted(set(callbacks) - {batch.id for batch in found}):
        violations.append(f"callback runs for batches that do not exist: {strays[:5]}")
    statuses = Counter(batch.status for batch in found)
    child_statuses = Counter(run.status.value for runs_ in children.values() for run in runs_)
    retried = sum(run.retry_count for runs_ in children.values() for run in runs_)
    made = sum(len(runs_) for runs_ in callbacks.values())
    print(f"batches              {len(found)} ({len(client.made)} answered, {len(client.cancelled)} "
          f"cancelled, {client.refused} calls refused and made again): "
          f"{dict(sorted(statuses.items()))}")  # fmt: skip
    print(f"batch runs           {sum(child_statuses.values())}: {dict(sorted(child_statuses.items()))}, "
          f"{retried} retries")  # fmt: skip
    print(f"batch callbacks      {made} ({sum(1 for b in found if b.success_run_id)} on_success, "
          f"{sum(1 for b in found if b.complete_run_id)} on_complete)")  # fmt: skip
    return violations


def _problems(batch: Batch, children: list[Execution], callbacks: list[Execution]) -> list[str]:
    problems: list[str] = []
    if batch.status == "RUNNING" or batch.finished_at is None:
        problems.append(f"not ended ({batch.ended} of {batch.total})")
    if len(children) != batch.total:
        problems.append(f"{len(children)} runs for a total of {batch.total}")
    ends = Counter(ENDS.get(run.status.value, run.status.value) for run in children)
    counted = {name: getattr(batch, name) for name in ENDS.values()}
    if dict(ends) != {name: n for name, n in counted.items() if n}:
        problems.append(f"counts {counted} but its runs ended {dict(ends)}")
    all_succeeded = bool(children) and all(run.status.value == "SUCCESS" for run in children)
    named = {
        "on_complete": batch.complete_run_id,
        "on_success": batch.success_run_id if all_succeeded else None,
    }
    for kind, run_id in named.items():
        made = [run.id for run in callbacks if run.params.get("name") == kind]
        if made != ([] if run_id is None else [run_id]) or (kind == "on_complete" and len(made) != 1):
            problems.append(f"{kind} runs {made}; the batch names {run_id}")
    last_end = max((run.finished_at for run in children if run.finished_at is not None), default=None)
    for run in callbacks:
        problems += _callback_problems(batch, run, last_end, {child.id for child in children})
    return problems


def _callback_problems(
    batch: Batch, run: Execution, last_end: datetime | None, children: set[int]
) -> list[str]:
    problems: list[str] = []
    summary = {"id": batch.id, "status": batch.status, **batch.counts()}
    if last_end is not None and run.created_at < last_end:
        problems.append(f"callback {run.id} made at {run.created_at}, before its last run ended ({last_end})")
    if run.params.get("batch") != summary:
        problems.append(f"callback {run.id} carries {run.params.get('batch')}, not {summary}")
    if run.parent_execution_id not in children:
        problems.append(f"callback {run.id}'s parent {run.parent_execution_id} is not one of its runs")
    # a callback is a run with no retries (as every API run): a worker the soak kills while it runs
    # leaves it TIMEOUT, which is its right end; the `sample` handler itself never fails
    if run.status.value not in ("SUCCESS", "TIMEOUT"):
        problems.append(f"callback {run.id} is {run.status.value}")
    return problems
