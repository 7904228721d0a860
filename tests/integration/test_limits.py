"""Concurrency and rate limits per handler and per concurrency key, enforced by the job store on
every backend: a run that may not start yet waits (WAITING, not sent); the end of a run hands the
next ones over in its transaction, priority then age, in turn across keys; a rate hands runs over
for later; a limit changed at run time applies to the next run that starts; concurrent ends and
concurrent dispatchers never let more runs through than the limit; the admin API checks each field."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from jobu.clock import utcnow
from jobu.limits import Limits, Rate
from jobu.models import Execution, ExecutionStatus, NewExecution, WorkMessage
from jobu.retries import limited_handler
from jobu.run_options import Debounce
from jobu.store import JobStore, open_store
from jobu.store.runs import Deferred, Finished
from tests.support.admin_client import AdminClient
from tests.support.harness import Harness, kafka_record, msk_event

HANDLER = "sample"
OTHER = "sample1"
T0 = datetime(2030, 1, 1, tzinfo=UTC)
_offsets = iter(range(1, 1_000_000))


def new_run(
    *,
    key: str | None = None,
    priority: str = "normal",
    available_at: datetime | None = None,
    handler: str = HANDLER,
) -> NewExecution:
    return NewExecution(
        job_id=None,
        handler_name=handler,
        params={},
        param_source="event",
        max_retry=0,
        timeout_seconds=60,
        source_topic="limits",
        source_partition=0,
        source_offset=next(_offsets),
        concurrency_key=key,
        priority=priority,  # type: ignore[arg-type]
        available_at=available_at,
    )


async def limit(store: JobStore, limits: Limits, handler: str = HANDLER, *, at: datetime = T0) -> None:
    async with store.connector.transaction() as conn:
        await store.limits.set(handler, limits, now=at, updated_by="test", conn=conn)


async def insert(store: JobStore, *runs: NewExecution, at: datetime = T0) -> list[Execution]:
    """The runs a Kafka batch makes; returns those to send now."""
    return await store.runs.insert_events(list(runs), now=at)


async def start(store: JobStore, execution: Execution, *, at: datetime = T0) -> Execution:
    claimed = await store.runs.claim(
        execution.id, attempt=execution.retry_count, now=at, deadline_at=at + timedelta(minutes=5)
    )
    assert isinstance(claimed, Execution), f"run {execution.id} could not be claimed: {claimed}"
    return claimed


async def end(store: JobStore, execution: Execution, *, at: datetime = T0) -> Finished:
    finished = await store.runs.finish(
        execution.id,
        attempt=execution.retry_count,
        status=ExecutionStatus.SUCCESS,
        result=None,
        error_message=None,
        now=at,
        limited=limited_handler(execution),
    )
    assert finished.finished
    return finished


async def statuses(store: JobStore) -> dict[int, ExecutionStatus]:
    return {e.id: e.status for e in await store.runs.list_recent(limit=1000)}


def ids(runs: Sequence[Execution]) -> list[int]:
    return [r.id for r in runs]


# each limit -------------------------------------------------------------------------------------


async def test_no_limits_every_run_goes_at_once(store: JobStore) -> None:
    sent = await insert(store, *[new_run() for _ in range(5)])
    assert len(sent) == 5
    assert all(r.status is ExecutionStatus.PENDING and r.limit_state is None for r in sent)


async def test_concurrency_holds_the_rest_and_each_end_hands_one_over(store: JobStore) -> None:
    await limit(store, Limits(concurrency=2))
    sent = await insert(store, *[new_run() for _ in range(5)])
    assert len(sent) == 2
    assert all(r.limit_state == "admitted" for r in sent)
    everything = await statuses(store)
    assert sorted(everything.values()).count(ExecutionStatus.WAITING) == 3

    first = await start(store, sent[0])
    released = (await end(store, first)).released
    assert len(released) == 1
    assert released[0].status is ExecutionStatus.PENDING
    # still two at once: the one never started, and the one just handed over
    active = [
        s for s in (await statuses(store)).values() if s in (ExecutionStatus.PENDING, ExecutionStatus.RUNNING)
    ]
    assert len(active) == 2

    # the rest, one end at a time, until none waits
    queue = [sent[1], released[0]]
    done = 1
    while queue:
        running = await start(store, queue.pop(0))
        queue += (await end(store, running)).released
        done += 1
    assert done == 5
    assert set((await statuses(store)).values()) == {ExecutionStatus.SUCCESS}


async def test_per_key_limit_with_two_keys(store: JobStore) -> None:
    await limit(store, Limits(per_key_concurrency=1))
    sent = await insert(store, *[new_run(key="a") for _ in range(3)], *[new_run(key="b") for _ in range(2)])
    assert sorted(str(r.concurrency_key) for r in sent) == ["a", "b"]

    # another key is not held back by a or b
    assert [r.concurrency_key for r in await insert(store, new_run(key="c"))] == ["c"]

    a = next(r for r in sent if r.concurrency_key == "a")
    released = (await end(store, await start(store, a))).released
    assert [r.concurrency_key for r in released] == ["a"]  # b's slot is still taken

    b = next(r for r in sent if r.concurrency_key == "b")
    released = (await end(store, await start(store, b))).released
    assert [r.concurrency_key for r in released] == ["b"]


async def test_waiting_runs_start_high_then_normal_then_low_oldest_first(store: JobStore) -> None:
    await limit(store, Limits(concurrency=1))
    (busy,) = await insert(store, new_run())
    waiting = [
        *await insert(store, new_run(priority="low"), at=T0 + timedelta(seconds=1)),
        *await insert(store, new_run(priority="normal"), at=T0 + timedelta(seconds=2)),
        *await insert(store, new_run(priority="high"), at=T0 + timedelta(seconds=3)),
        *await insert(store, new_run(priority="normal"), at=T0 + timedelta(seconds=4)),
        *await insert(store, new_run(priority="high"), at=T0 + timedelta(seconds=5)),
    ]
    assert waiting == []
    order = []
    current = busy
    for _ in range(5):
        (current,) = (await end(store, await start(store, current))).released
        order.append((current.priority, current.source_offset or 0))
    assert [priority for priority, _ in order] == ["high", "high", "normal", "normal", "low"]
    # within a level, the older first
    assert order[0][1] < order[1][1]
    assert order[2][1] < order[3][1]


async def test_keys_take_turns_so_one_backlog_cannot_starve_another(store: JobStore) -> None:
    await limit(store, Limits(concurrency=1))
    (busy,) = await insert(store, new_run(key="big"))
    # the big tenant's backlog is older than the small one's
    await insert(store, *[new_run(key="big") for _ in range(4)], at=T0 + timedelta(seconds=1))
    await insert(store, *[new_run(key="small") for _ in range(2)], at=T0 + timedelta(seconds=2))
    order = []
    current = busy
    for _ in range(6):
        (current,) = (await end(store, await start(store, current))).released
        order.append(current.concurrency_key)
    assert order == ["small", "big", "small", "big", "big", "big"]


async def test_a_rate_hands_runs_over_for_later_and_keeps_the_rest_waiting(store: JobStore) -> None:
    # one start every 300 s, two at once: SQS delays up to 900 s, so 2 + 3 are handed over now
    await limit(store, Limits(rate=Rate(limit=12, period_seconds=3600, burst=2)))
    sent = await insert(store, *[new_run() for _ in range(8)])
    starts = sorted(r.available_at - T0 for r in sent)
    # two at once (the burst), then one every 300 s, up to SQS's 900 s
    minutes = [timedelta(minutes=m) for m in (0, 0, 5, 10, 15)]
    assert starts == minutes
    assert list((await statuses(store)).values()).count(ExecutionStatus.WAITING) == 3

    # an hour later (the sweeper's pass) the burst is earned back: two at once, then 300 s after
    later = T0 + timedelta(hours=1)
    released = await store.limits.promote(HANDLER, now=later)
    assert sorted(r.available_at - later for r in released) == minutes[:3]


async def test_a_run_at_beyond_sqs_delay_waits_without_a_slot(store: JobStore) -> None:
    await limit(store, Limits(concurrency=1))
    assert await insert(store, new_run(available_at=T0 + timedelta(hours=2))) == []
    # the delayed run holds no slot: another may start
    (now,) = await insert(store, new_run())
    await end(store, await start(store, now))
    (later,) = await store.limits.promote(HANDLER, now=T0 + timedelta(hours=2) - timedelta(minutes=5))
    assert later.available_at == T0 + timedelta(hours=2)


async def test_a_burst_of_late_messages_starts_no_faster_than_the_rate(store: JobStore) -> None:
    """Runs handed over for their rate's times whose messages all reach workers late and together (a
    database restart, killed workers, redeliveries): the claim lets through only what the rate allows
    now and puts the rest back for later, spread out; over any window of the period, the runs'
    started_at keep the rate."""
    rate = Rate(limit=2, period_seconds=10, burst=2)
    await limit(store, Limits(rate=rate))
    sent = await insert(store, *[new_run() for _ in range(6)])
    assert len(sent) == 6  # all handed over, for their times
    late = T0 + timedelta(seconds=60)
    started: list[Execution] = []
    deferred: list[Execution] = []
    for run in sent:
        claimed = await store.runs.claim(run.id, attempt=0, now=late, deadline_at=late + timedelta(minutes=5))
        if isinstance(claimed, Execution):
            started.append(claimed)
        else:
            assert isinstance(claimed, Deferred)
            assert claimed.run is not None
            deferred.append(claimed.run)
    assert len(started) == rate.burst
    assert len(deferred) == 4
    for run in deferred:
        assert run.status is ExecutionStatus.PENDING
        assert run.started_at is None  # never started
        assert run.queued_at is None  # the caller sends it
        assert run.available_at > late
    # spread out by the rate, not all together again
    times = [run.available_at for run in deferred]
    assert max(times.count(t) for t in times) <= rate.burst
    # a duplicate of a put-back run's message, before its time: no start either
    again = await store.runs.claim(
        deferred[0].id, attempt=0, now=late, deadline_at=late + timedelta(minutes=5)
    )
    assert isinstance(again, Deferred)
    assert again.run is not None
    assert again.run.available_at == deferred[0].available_at  # its time kept, no new one taken
    # the messages come at their times (a late one just goes back again): each starts in turn
    clock = late
    for _ in range(40):
        pending = [r for r in await store.runs.list_recent(limit=100) if r.status is ExecutionStatus.PENDING]
        if not pending:
            break
        run = min(pending, key=lambda r: (r.available_at, r.id))
        clock = max(clock, run.available_at)
        await store.runs.claim(run.id, attempt=0, now=clock, deadline_at=clock + timedelta(minutes=5))
    runs = await store.runs.list_recent(limit=100)
    assert [r.status for r in runs] == [ExecutionStatus.RUNNING] * 6
    starts = sorted(r.started_at for r in runs if r.started_at is not None)
    assert len(starts) == 6
    window = timedelta(seconds=rate.period_seconds)
    most = max(sum(1 for t in starts if s <= t < s + window) for s in starts)
    assert most <= rate.limit + rate.burst - 1


async def test_a_delayed_run_that_comes_due_is_handed_over_by_the_next_end(store: JobStore) -> None:
    await limit(store, Limits(concurrency=1))
    (busy,) = await insert(store, new_run())
    assert await insert(store, new_run(available_at=T0 + timedelta(hours=1))) == []
    # the end finds no run it may start (the delayed one is an hour away)
    assert (await end(store, await start(store, busy))).released == ()
    (newer,) = await insert(store, new_run(), at=T0 + timedelta(minutes=1))
    # its time comes near while the newer run holds the slot: the sweeper's pass counts it ...
    near = T0 + timedelta(minutes=50)
    assert await store.limits.promote(HANDLER, now=near) == []
    # ... so the newer run's end hands it over (nothing else was queued since: the end reads the count)
    (delayed,) = (await end(store, await start(store, newer, at=near), at=near)).released
    assert delayed.available_at == T0 + timedelta(hours=1)


async def test_a_limit_changed_at_run_time_applies_to_the_next_run_that_starts(store: JobStore) -> None:
    assert len(await insert(store, *[new_run() for _ in range(2)])) == 2  # no limit yet
    await limit(store, Limits(concurrency=1))
    # two are active already: the new one waits
    assert await insert(store, new_run()) == []
    # raised: the waiting one may go, on the next promotion
    await limit(store, Limits(concurrency=5))
    (released,) = await store.limits.promote(HANDLER, now=T0)
    assert released.status is ExecutionStatus.PENDING
    # cleared, back to the code's limits (none here)
    async with store.connector.transaction() as conn:
        assert await store.limits.clear(HANDLER, now=T0, updated_by="test", conn=conn)
    assert len(await insert(store, *[new_run() for _ in range(4)])) == 4


async def test_code_defaults_apply_until_an_operator_overrides_them(store: JobStore) -> None:
    store.limits.defaults = lambda name: Limits(concurrency=1) if name == OTHER else None
    assert len(await insert(store, *[new_run(handler=OTHER) for _ in range(3)])) == 1
    await limit(store, Limits(concurrency=3), handler=OTHER)
    assert len(await store.limits.promote(OTHER, now=T0)) == 2


async def test_a_debounced_run_waits_for_the_limits_when_its_window_closes(store: JobStore) -> None:
    await limit(store, Limits(concurrency=1))
    (busy,) = await insert(store, new_run())
    request = new_run()
    request.debounce = Debounce(key="d", seconds=30)
    window = await store.debounce.request(request, request_key=None, now=T0)
    assert window.run is not None
    # its window closes while the busy run runs: it joins the line instead of being sent
    due = T0 + timedelta(seconds=31)
    assert await store.limits.hand_over(await store.debounce.due(now=due, limit=10), now=due) == []
    assert (await statuses(store))[window.run.id] is ExecutionStatus.WAITING
    (released,) = (await end(store, await start(store, busy), at=due)).released
    assert released.id == window.run.id


async def test_cancel_and_expiry_free_the_slot_in_their_transaction(store: JobStore) -> None:
    await limit(store, Limits(concurrency=1))
    expiring = new_run()
    expiring.expires_at = T0 + timedelta(seconds=10)
    (first,) = await insert(store, new_run(), expiring, new_run())
    released: list[Execution] = []
    assert await store.runs.cancel(first.id, reason="test", now=T0, released=released) == "cancelled"
    (second,) = released
    assert second.source_offset == expiring.source_offset
    # a run that expires unstarted frees its slot too
    freed: list[Execution] = []
    assert await store.runs.expire(second.id, now=T0 + timedelta(seconds=11), released=freed)
    (third,) = freed
    assert third.status is ExecutionStatus.PENDING
    # a run that waits is cancelled without handing anything over
    assert await insert(store, new_run()) == []
    waiting = [r for r in await store.runs.list_recent(limit=10) if r.status is ExecutionStatus.WAITING]
    none: list[Execution] = []
    assert await store.runs.cancel(waiting[0].id, reason="test", now=T0, released=none) == "cancelled"
    assert none == []
    # the row still counts the cancelled run as waiting; the next end finds none and recounts
    assert (await waiting_count(store)) == 1
    assert (await end(store, await start(store, third))).released == ()
    assert (await waiting_count(store)) == 0


async def test_an_end_racing_an_admission_hands_over_the_run_it_queued(store: JobStore) -> None:
    """The end's one statement waits for an admission that holds the handler's row: the admission
    counted the ending run still running and queued a run, so the end must see it and hand it over
    (else it would wait with the slot free)."""
    (later,) = await insert(store, new_run())
    await start(store, later)
    failed = await store.runs.finish(
        later.id,
        attempt=0,
        status=ExecutionStatus.FAILED,
        result=None,
        error_message="boom",
        now=T0,
        limited=None,
    )
    assert failed.finished
    await limit(store, Limits(concurrency=1))
    (first,) = await insert(store, new_run())
    running = await start(store, first)
    async with store.connector.transaction() as tx:
        # an operator's retry, admitted under the limit while `running` still holds the slot
        (retried,) = await store.runs.retry_finished([later.id], now=T0, conn=tx)
        assert retried.status is ExecutionStatus.WAITING
        ending = asyncio.create_task(end(store, running))
        await asyncio.sleep(0.3)
        assert not ending.done(), "the end did not wait for the admission holding the row"
    released = (await ending).released
    assert ids(released) == [later.id]
    assert (await waiting_count(store)) == 0


async def test_an_end_with_nothing_waiting_hands_nothing_over(store: JobStore) -> None:
    await limit(store, Limits(per_key_concurrency=5))
    sent = await insert(store, new_run(key="a"), new_run(key="b"))
    for run in sent:
        assert (await end(store, await start(store, run))).released == ()
    # a duplicate end (a redelivered message) is no end: not RUNNING at that attempt
    again = await store.runs.finish(
        sent[0].id,
        attempt=0,
        status=ExecutionStatus.SUCCESS,
        result=None,
        error_message=None,
        now=T0,
        limited=HANDLER,
    )
    assert not again.finished
    assert set((await statuses(store)).values()) == {ExecutionStatus.SUCCESS}


async def waiting_count(store: JobStore) -> int:
    row = await store.limits.row(HANDLER)
    assert row is not None
    return row.waiting


# real concurrency ------------------------------------------------------------------------------


LIMIT = 3
PER_KEY = 2
RUNS = 40


async def _worker(url: str, seed: int, stop: asyncio.Event, seen: list[int]) -> None:
    """A worker's loop on its own connections: claim a run that was handed over, end it (the end
    hands over the next), until nothing is left."""
    store = await open_store(url, max_connections=2)
    rng = random.Random(seed)
    try:
        while not stop.is_set():
            pending = [r for r in await store.runs.list_recent(status=ExecutionStatus.PENDING, limit=50)]
            rng.shuffle(pending)
            claimed = None
            for candidate in pending:
                claimed = await store.runs.claim(
                    candidate.id, attempt=0, now=utcnow(), deadline_at=utcnow() + timedelta(minutes=5)
                )
                if claimed is not None:
                    break
            if claimed is None:
                await asyncio.sleep(0.01)
                continue
            seen.append(await active_runs(store))
            await asyncio.sleep(rng.random() * 0.01)
            await store.runs.finish(
                claimed.id,
                attempt=0,
                status=ExecutionStatus.SUCCESS,
                result=None,
                error_message=None,
                now=utcnow(),
                limited=limited_handler(claimed),
            )
    finally:
        await store.close()


async def active_runs(store: JobStore) -> int:
    return await store.runs.count(
        job_id=None,
        statuses=[ExecutionStatus.PENDING, ExecutionStatus.RUNNING],
        handler_name=HANDLER,
        from_date=None,
        to_date=None,
    )


async def test_concurrent_ends_and_dispatchers_never_exceed_the_limits(database_url: str) -> None:
    setup = await open_store(database_url)
    await setup.migrate()
    await limit(setup, Limits(concurrency=LIMIT, per_key_concurrency=PER_KEY), at=utcnow())

    async def dispatcher(n: int) -> None:
        store = await open_store(database_url, max_connections=2)
        try:
            for i in range(RUNS // 4):
                await store.runs.insert_events([new_run(key=f"k{(n + i) % 3}")], now=utcnow())
        finally:
            await store.close()

    stop = asyncio.Event()
    seen: list[int] = []
    workers = [asyncio.create_task(_worker(database_url, seed, stop, seen)) for seed in range(4)]
    await asyncio.gather(*(dispatcher(n) for n in range(4)))
    for _ in range(3000):  # until every run ended (bounded: a lost promotion fails the test)
        done = await setup.runs.count(
            job_id=None, statuses=[ExecutionStatus.SUCCESS], handler_name=None, from_date=None, to_date=None
        )
        if done == RUNS:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.gather(*workers)
    runs = await setup.runs.list_recent(limit=1000)
    await setup.close()

    assert [r.status for r in runs] == [ExecutionStatus.SUCCESS] * RUNS
    assert seen
    assert max(seen) <= LIMIT
    # from the stored times: never more than the limit at once, per handler and per key
    assert _most_at_once(runs) <= LIMIT
    for key in {r.concurrency_key for r in runs}:
        assert _most_at_once([r for r in runs if r.concurrency_key == key]) <= PER_KEY


def _most_at_once(runs: Sequence[Execution]) -> int:
    """The most runs between started_at and finished_at at one moment (an end before a start at the
    same instant: the end handed the slot over)."""
    events = sorted(
        [(r.started_at, 1) for r in runs if r.started_at]
        + [(r.finished_at, -1) for r in runs if r.finished_at],
        key=lambda e: (e[0], e[1]),
    )
    most = current = 0
    for _, step in events:
        current += step
        most = max(most, current)
    return most


# end to end: Kafka, the worker, the admin API --------------------------------------------------


def test_a_worker_end_sends_the_run_it_hands_over(harness: Harness, admin: AdminClient) -> None:
    put = admin.put(f"/api/limits/{HANDLER}", body={"per_key_concurrency": 1})
    assert (put.status, put.json["source"]) == (200, "override")
    records = [
        kafka_record(i, json.dumps({"handler_name": HANDLER, "params": {}, "concurrency_key": key}))
        for i, key in enumerate(["t1", "t1", "t1", "t2"], start=1)
    ]
    report = harness.invoke_queue(msk_event(*records))
    assert len(report["dispatched"]) == 2  # t1's first and t2's
    listed = admin.get(f"/api/limits/{HANDLER}").json
    assert (listed["waiting"], listed["pending"]) == (2, 2)
    assert {k["concurrency_key"]: k["waiting"] for k in listed["keys"]} == {"t1": 2, "t2": 0}

    # the workers run each run; each end sends the next of t1, never two of t1 at once
    harness.drain_queue()
    runs = harness.executions()
    assert [r.status for r in runs] == [ExecutionStatus.SUCCESS] * 4
    assert _most_at_once([r for r in runs if r.concurrency_key == "t1"]) == 1
    assert [h["handler_name"] for h in admin.get("/api/limits").json] == [HANDLER]


def test_a_worker_puts_back_a_run_its_rate_does_not_let_start_yet(
    harness: Harness, admin: AdminClient
) -> None:
    rate = {"limit": 1, "period_seconds": 60, "burst": 1}
    assert admin.put(f"/api/limits/{HANDLER}", body={"rate": rate}).status == 200
    records = [kafka_record(i, json.dumps({"handler_name": HANDLER, "params": {}})) for i in (1, 2)]
    assert len(harness.invoke_queue(msk_event(*records))["dispatched"]) == 2
    first, second = sorted(harness.executions(), key=lambda r: r.id)
    assert second.available_at - first.available_at >= timedelta(seconds=59)  # handed over for later
    # both messages reach a worker together (the second's early: a stale or duplicate one): one start
    messages = [
        {"MessageId": f"m{run.id}", "Body": WorkMessage(execution_id=run.id, attempt=0).to_json()}
        for run in (first, second)
    ]
    assert harness.invoke_worker(messages)["batchItemFailures"] == []
    ran, put_back = sorted(harness.executions(), key=lambda r: r.id)
    assert ran.status is ExecutionStatus.SUCCESS
    assert ran.started_at is not None
    assert put_back.status is ExecutionStatus.PENDING
    assert put_back.started_at is None
    assert put_back.queued_at is not None  # sent again, with the delay its time needs
    assert put_back.available_at >= second.available_at  # never before the time it was given
    # not visible before its time (the first's original message still is: the test made its own)
    assert put_back.id not in {json.loads(m["Body"])["execution_id"] for m in harness.receive()}


def test_the_sweeper_hands_over_what_an_end_before_the_limit_could_not(
    harness: Harness, admin: AdminClient
) -> None:
    def record(offset: int) -> dict[str, Any]:
        return kafka_record(offset, json.dumps({"handler_name": HANDLER, "params": {}}))

    # two runs admitted while the handler had no limits: their ends hand nothing over
    assert len(harness.invoke_queue(msk_event(record(1), record(2)))["dispatched"]) == 2
    assert admin.put(f"/api/limits/{HANDLER}", body={"concurrency": 1}).status == 200
    assert harness.invoke_queue(msk_event(record(3)))["dispatched"] == []
    assert harness.with_store(lambda s: s.limits.waiting_per_handler()) == {HANDLER: 1}
    harness.drain_queue()
    assert [r.status for r in harness.executions()][-1] is ExecutionStatus.WAITING
    # the tick's sweep finds the slot free and sends the run
    tick = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    assert harness.tick(tick)["sweep"]["failed"] == []
    harness.drain_queue()
    assert [r.status for r in harness.executions()] == [ExecutionStatus.SUCCESS] * 3
    assert harness.with_store(lambda s: s.limits.waiting_per_handler()) == {}


def test_a_batch_and_its_callback_wait_for_the_limits(harness: Harness, admin: AdminClient) -> None:
    assert admin.put(f"/api/limits/{HANDLER}", body={"concurrency": 1}).status == 200
    runs = [{"handler_name": HANDLER, "params": {"n": n}} for n in range(3)]
    made = admin.post(
        "/api/batches", body={"runs": runs, "on_complete": {"handler_name": HANDLER, "params": {}}}
    )
    assert made.status == 201, made.json
    assert [r.status for r in harness.executions()].count(ExecutionStatus.WAITING) == 2
    harness.drain_queue()
    done = harness.executions()
    # the three runs and the callback, one at a time
    assert [r.status for r in done] == [ExecutionStatus.SUCCESS] * 4
    assert _most_at_once(done) == 1


def test_the_api_checks_each_field_and_knows_its_handlers(harness: Harness, admin: AdminClient) -> None:
    bad: list[tuple[Any, str]] = [
        ({"concurrency": 0}, "concurrency"),
        ({"concurrency": "2"}, "concurrency"),
        ({"concurrency": True}, "concurrency"),
        ({"per_key_concurrency": 1.5}, "per_key_concurrency"),
        ({"concurrency": 2, "per_key_concurrency": 3}, "per_key_concurrency"),
        ({"rate": 5}, "rate"),
        ({"rate": {"period_seconds": 60}}, "rate.limit"),
        ({"rate": {"limit": 5}}, "rate.period_seconds"),
        ({"rate": {"limit": 5, "period_seconds": 0}}, "rate.period_seconds"),
        ({"rate": {"limit": 5, "period_seconds": 60, "burst": 6}}, "rate.burst"),
        ({"rate": {"limit": 5, "period_seconds": 60, "every": 1}}, "rate.every"),
        ({"concurrency": 2, "tenant": "x"}, "tenant"),
    ]
    for body, field in bad:
        refused = admin.put(f"/api/limits/{HANDLER}", body=body)
        assert (refused.status, refused.json["error"], refused.json.get("field")) == (
            400,
            "invalid_limits",
            field,
        ), body
    assert admin.put(f"/api/limits/{HANDLER}", body=[1]).status == 400
    assert admin.get("/api/limits/no_such_handler").status == 404
    assert admin.put("/api/limits/no_such_handler", body={"concurrency": 1}).status == 404
    assert admin.delete("/api/limits/no_such_handler").status == 404
    # nothing was set by the refusals
    assert admin.get(f"/api/limits/{HANDLER}").json["source"] == "none"

    body = {"concurrency": 4, "per_key_concurrency": 2, "rate": {"limit": 10, "period_seconds": 60}}
    status = admin.put(f"/api/limits/{HANDLER}", body=body).json
    assert status["limits"] == {**body, "rate": {"limit": 10, "period_seconds": 60, "burst": 1}}
    cleared = admin.delete(f"/api/limits/{HANDLER}").json
    assert (cleared["source"], cleared["limits"]["concurrency"]) == ("none", None)
    operations = [a["operation"] for a in admin.get("/api/audit").json["items"]]
    assert operations.count("limits.set") == 1
    assert operations.count("limits.clear") == 1
