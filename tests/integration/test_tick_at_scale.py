"""The tick at scale on the three backends: a backlog of unsent runs larger than the sweeper's page,
catch-up `all` over a long downtime (chunks bounded by the runs they write)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from jobu import cron_dispatch
from jobu.store import JobStore
from jobu.store.cron_jobs import CronChunk
from tests.support.contention import RecordingSQS, runs_per_slot, seed_jobs, tick, work_queue

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


async def test_the_sweeper_resends_a_backlog_larger_than_a_page_in_one_tick(store: JobStore) -> None:
    """SQS refused every message of a 2,500-job tick; the next tick (past the grace) re-sends
    all of them, a page (SWEEP_LIMIT) at a time, not a page per tick."""
    await seed_jobs(store, 2500, next_run_at=T0)
    sqs = RecordingSQS()
    sqs.down = True
    first = await tick(store, T0, queue=work_queue(sqs))
    assert (len(first.dispatched), len(first.unsent)) == (0, 2500)
    sqs.down = False
    later = await tick(store, T0 + 2 * MINUTE, queue=work_queue(sqs))
    assert len(later.sweep.requeued) == 2500
    resent = {body["execution_id"] for body in sqs.bodies}
    assert set(later.sweep.requeued) <= resent
    unsent = await store.runs.unqueued(cutoff=T0 + 2 * MINUTE, limit=10)
    assert unsent == []


async def test_catch_up_all_is_written_in_chunks_bounded_by_their_runs(
    store: JobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """12 every-minute jobs with catch-up `all` and catchup_limit 1000, 17 hours down: 12,000 runs.
    Each chunk (one transaction) writes at most CHUNK_RUNS of them; a tick cut short after its
    first chunk keeps that chunk, and its continuation does the rest, each slot once."""
    at = T0 + timedelta(hours=17)
    await seed_jobs(store, 12, next_run_at=T0, catchup_policy="all", catchup_limit=1000)
    written: list[int] = []
    dispatch_due = store.cron_jobs.dispatch_due

    async def recorded(**kwargs: Any) -> CronChunk:
        chunk = await dispatch_due(**kwargs)
        written.append(len(chunk.runs))
        return chunk

    monkeypatch.setattr(store.cron_jobs, "dispatch_due", recorded)
    cut_short = await tick(store, at, time_left=lambda: 0.0)  # out of time after its first chunk
    assert cut_short.more_due
    assert written == [cron_dispatch.CHUNK_RUNS]
    assert sum((await runs_per_slot(store)).values()) == cron_dispatch.CHUNK_RUNS  # kept

    continued = await tick(store, at)
    assert not continued.more_due
    assert max(written) <= cron_dispatch.CHUNK_RUNS
    assert sum(written) == 12_000
    runs = await runs_per_slot(store)
    assert len(runs) == 12_000
    assert set(runs.values()) == {1}
    for job in await store.cron_jobs.page(is_enabled=None, limit=20, offset=0):
        assert job.next_run_at == at + MINUTE
