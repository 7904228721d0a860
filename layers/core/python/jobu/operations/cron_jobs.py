"""Cron jobs: create, read, list, update, enable or disable, delete, run now, pause and resume,
backfill, and the preview of an expression before it is saved.

Every definition is checked before it reaches the store (jobu.cron for the expression and the time
zone): a bad one is an InvalidCronJobError whose message says what is wrong, a taken name a
DuplicateError. Enabling, and any change of the expression or time zone, schedules from the next
slot after now: no catch-up (pausing and resuming is what keeps the missed slots, docs/scheduling.md).
The preview is what the dashboard's form asks for as an expression is typed, so the times it shows
are the ones the cron dispatcher computes (jobu.cron, in the job's zone), not a second
implementation in the browser.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Set
from datetime import datetime, timedelta
from typing import Any

from croniter import CroniterError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from jobu.cron import Schedule, validate_cron_expression, zone
from jobu.documents import storage_problem
from jobu.errors import DuplicateError, InvalidCronJobError, InvalidStateError, NotFoundError
from jobu.handler_manifest import handler_pool
from jobu.models import (
    MAX_ALERT_SECONDS,
    MAX_CATCHUP_LIMIT,
    MAX_CRON_EXPRESSION_LENGTH,
    MAX_DESCRIPTION_LENGTH,
    MAX_JOB_TIMEOUT_SECONDS,
    MAX_NAME_LENGTH,
    MAX_RETRY_LIMIT,
    WORKER_MARGIN_SECONDS,
    CatchupPolicy,
    CronJob,
    Execution,
    ExecutionStatus,
    NewExecution,
    OverlapPolicy,
    RunRef,
    overlap_from,
)
from jobu.operations.audit import Actor, Change, audited, differences, fields_of
from jobu.operations.paging import Page, PageRequest
from jobu.params_schema import params_problem
from jobu.provenance import merge_params
from jobu.retries import JOB_DELETED_REASON
from jobu.run_options import Priority
from jobu.specs import ConcurrencyKey, CronJobSpec, RunTags, RunTtl, StorableText
from jobu.store import JobStore
from jobu.store.cron_jobs import Revision
from jobu.work_queue import WorkQueue, enqueue, ready_runs

# A backfill creates at most this many runs in one request (ask again for the rest).
MAX_BACKFILL_SLOTS = 1000
MAX_PREVIEW = 20
DEFAULT_PREVIEW = 5
# a job's definition as the audit trail records it
DEFINITION = tuple(CronJobSpec.model_fields)
PAUSE_FIELDS = ("paused_at", "paused_until", "next_run_at")


class CronJobUpdate(BaseModel):
    """A partial update: the fields given replace the job's, the others stay (null means not given)."""

    model_config = ConfigDict(extra="forbid")

    name: StorableText | None = Field(default=None, min_length=1, max_length=MAX_NAME_LENGTH)
    cron_expression: StorableText | None = Field(
        default=None, min_length=1, max_length=MAX_CRON_EXPRESSION_LENGTH
    )
    handler_name: StorableText | None = Field(default=None, min_length=1, max_length=200)
    handler_params: dict[str, Any] | None = None
    description: StorableText | None = Field(default=None, max_length=MAX_DESCRIPTION_LENGTH)
    is_enabled: bool | None = None
    timezone: StorableText | None = Field(default=None, min_length=1, max_length=64)
    catchup_policy: CatchupPolicy | None = None
    catchup_limit: int | None = Field(default=None, ge=1, le=MAX_CATCHUP_LIMIT)
    catchup_window_seconds: int | None = Field(
        default=None, ge=0, description="missed slots older than this are dropped; 0 removes the window"
    )
    overlap_policy: OverlapPolicy | None = None
    allow_overlap: bool | None = None
    max_retry: int | None = Field(default=None, ge=0, le=MAX_RETRY_LIMIT)
    timeout_seconds: int | None = Field(default=None, ge=1, le=MAX_JOB_TIMEOUT_SECONDS)
    priority: Priority | None = None
    ttl_seconds: RunTtl | None = None
    tags: RunTags | None = None
    concurrency_key: ConcurrencyKey | None = None
    alert_if_not_started_within: int | None = Field(
        default=None, ge=0, le=MAX_ALERT_SECONDS, description="seconds after a slot; 0 removes the alert"
    )
    alert_if_not_finished_within: int | None = Field(
        default=None, ge=0, le=MAX_ALERT_SECONDS, description="seconds after a slot; 0 removes the alert"
    )

    @model_validator(mode="before")
    @classmethod
    def _one_overlap_setting(cls, data: Any) -> Any:
        return overlap_from(data) if isinstance(data, dict) else data


class RunNowRequest(BaseModel):
    """Params merged over the job's handler_params for this run only (the override wins per key)."""

    model_config = ConfigDict(extra="forbid")

    params: dict[str, Any] = Field(default_factory=dict)


class RunNowResult(BaseModel):
    run: Execution
    queued: bool = Field(
        description="false: the run is WAITING behind an active run (overlap_policy queue_one), or its "
        "message failed and the sweeper re-sends it within minutes"
    )


def validate_spec(spec: CronJobSpec, *, known_handlers: Set[str], worker_timeouts: Mapping[str, int]) -> None:
    """Raise InvalidCronJobError with a message that says what is wrong with `spec`, and which field.

    `worker_timeouts`: each worker pool's Timeout; the job's handler runs in one of them."""
    check_expression(spec.cron_expression)
    check_timezone(spec.timezone)
    if spec.handler_name not in known_handlers:
        known = ", ".join(sorted(known_handlers))
        raise InvalidCronJobError(
            f"unknown handler {spec.handler_name!r}; registered handlers: {known}", field="handler_name"
        )
    pool = handler_pool(spec.handler_name)
    if pool not in worker_timeouts:
        raise InvalidCronJobError(
            f"handler {spec.handler_name!r} runs in pool {pool!r}, which has no worker here",
            field="handler_name",
        )
    worker_timeout_seconds = worker_timeouts[pool]
    longest = worker_timeout_seconds - WORKER_MARGIN_SECONDS
    if spec.timeout_seconds > longest:
        raise InvalidCronJobError(
            f"timeout_seconds={spec.timeout_seconds} cannot be honoured: the worker of pool {pool!r} runs "
            f"at most {worker_timeout_seconds}s, so a job may take at most {longest}s",
            field="timeout_seconds",
        )
    check_params(spec.handler_name, spec.handler_params, field="handler_params")


def check_params(handler_name: str, params: Mapping[str, Any], *, field: str) -> None:
    """Refuse params a run of `handler_name` cannot have: ones the job store cannot hold, or that
    the handler's own schema refuses, as the queue dispatcher checks events (jobu.params_schema;
    `on_success` links too, ten at most). A cron job's params and a run's (run now) alike."""
    problem = storage_problem(params)
    if problem:
        raise InvalidCronJobError(f"{field}: {problem}", field=field)
    problem = params_problem(handler_name, params)
    if problem:
        raise InvalidCronJobError(problem, field=field)


def parse_spec(data: dict[str, object]) -> CronJobSpec:
    """A CronJobSpec from user input, with pydantic's complaints turned into one clear error."""
    try:
        return CronJobSpec.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise InvalidCronJobError(f"invalid cron job: {problems}") from error


def _next_run_at(spec: CronJobSpec, now: datetime) -> datetime | None:
    return Schedule(spec.cron_expression, spec.timezone).next_after(now) if spec.is_enabled else None


async def create(
    store: JobStore,
    spec: CronJobSpec,
    *,
    known_handlers: Set[str],
    worker_timeouts: Mapping[str, int],
    now: datetime,
    actor: Actor,
) -> CronJob:
    validate_spec(spec, known_handlers=known_handlers, worker_timeouts=worker_timeouts)

    async def insert(change: Change) -> CronJob:
        job = await store.cron_jobs.insert(
            spec, next_run_at=_next_run_at(spec, now), now=now, conn=change.conn
        )
        change.target_id = str(job.id)
        change.record(after=fields_of(job, DEFINITION))
        return job

    try:
        return await audited(store, actor, "cron_job.create", "cron_job", now=now, change=insert)
    except DuplicateError:
        raise DuplicateError(f"a cron job named {spec.name!r} exists already") from None


async def get(store: JobStore, job_id: int, *, conn: Any = None) -> CronJob:
    job = await store.cron_jobs.get(job_id, conn=conn)
    if job is None:
        raise NotFoundError(f"no cron job with id {job_id}")
    return job


async def get_by_name(store: JobStore, name: str) -> CronJob:
    job = await store.cron_jobs.get_by_name(name)
    if job is None:
        raise NotFoundError(f"no cron job named {name!r}")
    return job


async def list_page(
    store: JobStore, request: PageRequest, *, is_enabled: bool | None = None
) -> Page[CronJob]:
    total = await store.cron_jobs.count(is_enabled=is_enabled)
    items = await store.cron_jobs.page(is_enabled=is_enabled, limit=request.size, offset=request.offset)
    return Page[CronJob].of(items, total=total, request=request)


async def update(
    store: JobStore,
    job_id: int,
    changes: CronJobUpdate,
    *,
    known_handlers: Set[str],
    worker_timeouts: Mapping[str, int],
    now: datetime,
    actor: Actor,
) -> CronJob:
    """Apply `changes`, checked as a whole job; the schedule restarts from now when the expression
    changes or the job is enabled, and stops when it is disabled. The job is read, checked and
    written with its row locked: an update or toggle at the same time applies before or after
    this one, never over it."""
    given = changes.model_dump(exclude_none=True)
    if given.get("catchup_window_seconds") == 0:
        given["catchup_window_seconds"] = None  # 0 removes the window (null leaves it as it is)
    for alert in ("alert_if_not_started_within", "alert_if_not_finished_within"):
        if given.get(alert) == 0:
            given[alert] = None  # 0 removes the alert (null leaves it as it is)

    seen: list[CronJob] = []  # the job as the update found it, locked (the last attempt's)
    specs: list[CronJobSpec] = []  # what it becomes (the last attempt's)

    def revise(job: CronJob) -> Revision:
        seen.append(job)
        current = CronJobSpec.model_validate({name: getattr(job, name) for name in CronJobSpec.model_fields})
        spec = current.model_copy(update=given)
        validate_spec(spec, known_handlers=known_handlers, worker_timeouts=worker_timeouts)
        specs.append(spec)
        schedule = (spec.cron_expression, spec.timezone, spec.is_enabled)
        reschedule = schedule != (job.cron_expression, job.timezone, job.is_enabled)
        return Revision(spec, _next_run_at(spec, now) if reschedule else job.next_run_at)

    async def replace(change: Change) -> CronJob:
        updated = await store.cron_jobs.update(job_id, revise, now=now, conn=change.conn)
        if updated is None:
            raise NotFoundError(f"no cron job with id {job_id}")
        await store.cron_jobs.set_alerts(job_id, specs[-1], conn=change.conn)
        updated = await get(store, job_id, conn=change.conn)
        change.record(*differences(fields_of(seen[-1], DEFINITION), fields_of(updated, DEFINITION)))
        return updated

    try:
        return await audited(store, actor, "cron_job.update", "cron_job", job_id, now=now, change=replace)
    except DuplicateError:
        raise DuplicateError(f"a cron job named {given.get('name')!r} exists already") from None


# a job whose state changes between its read and its lock is read again; this many times at most
SWITCH_TRIES = 5
SWITCHED = ("is_enabled", "next_run_at")


class _ReadAgain(Exception):
    """The job changed between its read and its lock: roll back, read it again."""


async def _switch(
    store: JobStore, job_id: int, *, enabled: bool | None, now: datetime, actor: Actor
) -> CronJob:
    """Enable, disable or (None) toggle: one statement (NOT is_enabled for a toggle), made with the
    job's row locked so the audit records exactly what it changed; two at once both apply."""
    for _ in range(SWITCH_TRIES):
        job = await get(store, job_id)
        on = not job.is_enabled if enabled is None else enabled
        following = Schedule(job.cron_expression, job.timezone).next_after(now)
        operation = "cron_job.enable" if on else "cron_job.disable"
        flip = _flip(store, job, enabled=enabled, following=following, now=now)
        try:
            return await audited(store, actor, operation, "cron_job", job_id, now=now, change=flip)
        except _ReadAgain:
            continue
    raise InvalidStateError(f"cron job {job_id} kept changing while being switched; try again")


def _flip(
    store: JobStore, job: CronJob, *, enabled: bool | None, following: datetime, now: datetime
) -> Callable[[Change], Awaitable[CronJob]]:
    """The switch of `job` as read, made under its row's lock: _ReadAgain if it changed meanwhile."""

    async def flip(change: Change) -> CronJob:
        locked = await store.cron_jobs.get_for_update(job.id, conn=change.conn)
        if locked is None:
            raise NotFoundError(f"no cron job with id {job.id}")
        if (locked.is_enabled, locked.cron_expression, locked.timezone) != (
            job.is_enabled,
            job.cron_expression,
            job.timezone,
        ):
            raise _ReadAgain  # another switch or update came first
        await store.cron_jobs.set_enabled(
            locked, enabled=enabled, next_run_at=following, now=now, conn=change.conn
        )
        updated = await get(store, job.id, conn=change.conn)
        change.record(*differences(fields_of(locked, SWITCHED), fields_of(updated, SWITCHED)))
        return updated

    return flip


async def set_enabled_by_id(
    store: JobStore, job_id: int, *, enabled: bool, now: datetime, actor: Actor
) -> CronJob:
    """Enable (scheduling from the next slot after now, no catch-up) or disable a job."""
    return await _switch(store, job_id, enabled=enabled, now=now, actor=actor)


async def toggle(store: JobStore, job_id: int, *, now: datetime, actor: Actor) -> CronJob:
    """Disable an enabled job, enable a disabled one: one statement, so two toggles flip twice."""
    return await _switch(store, job_id, enabled=None, now=now, actor=actor)


async def set_enabled(store: JobStore, name: str, *, enabled: bool, now: datetime, actor: Actor) -> CronJob:
    """set_enabled_by_id for the job named `name` (the CLI names jobs)."""
    job = await get_by_name(store, name)
    return await set_enabled_by_id(store, job.id, enabled=enabled, now=now, actor=actor)


async def delete(store: JobStore, job_id: int, *, now: datetime, actor: Actor) -> None:
    """Delete the job; its runs stay, with job_id cleared (the foreign key's ON DELETE SET NULL),
    except a WAITING one (queue_one), which nothing could start any more: it is CANCELLED."""

    async def remove(change: Change) -> None:
        job = await get(store, job_id, conn=change.conn)
        if not await store.cron_jobs.delete(job_id, reason=JOB_DELETED_REASON, now=now, conn=change.conn):
            raise NotFoundError(f"no cron job with id {job_id}")
        change.record(before=fields_of(job, DEFINITION))

    await audited(store, actor, "cron_job.delete", "cron_job", job_id, now=now, change=remove)


async def run_now(
    store: JobStore,
    queue: WorkQueue,
    job_id: int,
    request: RunNowRequest,
    *,
    known_handlers: Set[str],
    now: datetime,
    actor: Actor,
) -> RunNowResult:
    """Create and queue a run of the job now, enabled or not, with `request.params` over its params.

    The run is param_source 'manual'; its provenance says which keys came from the job and which
    from the override. The job's overlap policy holds: with 'skip' it is refused while one of its
    runs is active; with 'queue_one' it waits (WAITING) behind the active run, one at most.
    """
    job = await get(store, job_id)
    if job.handler_name not in known_handlers:
        raise InvalidCronJobError(
            f"cron job {job_id} runs handler {job.handler_name!r}, which is not deployed"
        )
    params, provenance = merge_params(job.handler_params, request.params, source="manual")
    # checked as a create checks a job's params, before anything is stored
    check_params(job.handler_name, params, field="params")
    new = NewExecution(
        job_id=job.id,
        handler_name=job.handler_name,
        params=params,
        params_provenance=provenance,
        param_source="manual",
        max_retry=job.max_retry,
        timeout_seconds=job.timeout_seconds,
        priority=job.priority,
        tags=job.tags,
        concurrency_key=job.concurrency_key,
        expires_at=None if job.ttl_seconds is None else now + timedelta(seconds=job.ttl_seconds),
    )

    async def start(change: Change) -> Execution:
        run = await store.runs.insert_manual(
            new, overlap_policy=job.overlap_policy, now=now, conn=change.conn
        )
        if run is None:
            held = (
                "one of its runs is active"
                if job.overlap_policy == "skip"
                else "a run of it is already waiting"
            )
            policy = job.overlap_policy
            raise InvalidStateError(
                f"cron job {job_id} does not allow another run now (overlap_policy {policy!r}): {held}"
            )
        change.record(after={"run_id": run.id, "status": run.status, "params_override": request.params})
        return run

    run = await audited(store, actor, "cron_job.run_now", "cron_job", job_id, now=now, change=start)
    if run.status is ExecutionStatus.WAITING:  # queue_one or its limits: it starts when a run ends
        return RunNowResult(run=run, queued=False)
    sent = await enqueue(store, queue, ready_runs([run], now), now=now)
    queued = run.id in sent.sent
    if queued:  # the run as stored now: its queued_at is set
        run = await store.runs.get(run.id) or run
    return RunNowResult(run=run, queued=queued)


# pause, resume, backfill ------------------------------------------------------------------


class PauseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    until: datetime | None = Field(default=None, description="resume by itself then; empty: until resumed")


async def pause(
    store: JobStore, job_id: int, request: PauseRequest, *, now: datetime, actor: Actor
) -> CronJob:
    """No runs until `until` (or until resumed); then the job's catch-up policy decides what
    happens to the slots passed meanwhile."""
    if request.until is not None and request.until <= now:
        raise InvalidCronJobError(
            f"until must be in the future, not {request.until.isoformat()}", field="until"
        )

    async def hold(change: Change) -> CronJob:
        job = await get(store, job_id, conn=change.conn)
        await store.cron_jobs.pause(job_id, until=request.until, now=now, conn=change.conn)
        paused = await get(store, job_id, conn=change.conn)
        change.record(*differences(fields_of(job, PAUSE_FIELDS), fields_of(paused, PAUSE_FIELDS)))
        return paused

    return await audited(store, actor, "cron_job.pause", "cron_job", job_id, now=now, change=hold)


async def resume(store: JobStore, job_id: int, *, now: datetime, actor: Actor) -> CronJob:
    """End a pause now: the next tick applies the catch-up policy to the slots passed while paused."""

    async def release(change: Change) -> CronJob:
        job = await get(store, job_id, conn=change.conn)
        if job.paused_at is None:
            raise InvalidStateError(f"cron job {job_id} is not paused")
        await store.cron_jobs.resume(job_id, now=now, conn=change.conn)
        resumed = await get(store, job_id, conn=change.conn)
        change.record(*differences(fields_of(job, PAUSE_FIELDS), fields_of(resumed, PAUSE_FIELDS)))
        return resumed

    return await audited(store, actor, "cron_job.resume", "cron_job", job_id, now=now, change=release)


class BackfillRequest(BaseModel):
    """The slots of the job in [start, end]; a dry run (the default) lists them and creates nothing."""

    model_config = ConfigDict(extra="forbid")

    start: datetime
    end: datetime
    dry_run: bool = True

    @model_validator(mode="after")
    def _ordered(self) -> BackfillRequest:
        if self.end < self.start:
            raise ValueError("end is before start")
        return self


class BackfillSlot(BaseModel):
    scheduled_time: datetime
    run_id: int | None = Field(description="the slot's run, when it has one (before: it existed already)")
    existed: bool = Field(description="the slot had a run before this request: nothing was created for it")


class BackfillResult(BaseModel):
    dry_run: bool
    slots: list[BackfillSlot]
    created: int = Field(description="runs this request created (0 for a dry run)")
    truncated: bool = Field(
        description=f"the range holds more than {MAX_BACKFILL_SLOTS} slots: ask again from the last"
    )


async def backfill(
    store: JobStore, queue: WorkQueue, job_id: int, request: BackfillRequest, *, now: datetime, actor: Actor
) -> BackfillResult:
    """Create a run (param_source 'backfill') for each slot of the job in [start, end] that has
    none, and queue it; the dry run lists exactly those slots. Each slot gets one run however often
    this is asked (the unique slot key), whatever the job's overlap policy."""
    job = await get(store, job_id)
    if request.start > now:
        raise InvalidCronJobError(
            "a backfill is for slots that have passed: start is in the future", field="start"
        )
    schedule = Schedule(job.cron_expression, job.timezone)
    slots = schedule.slots_between(request.start, min(request.end, now), limit=MAX_BACKFILL_SLOTS + 1)
    truncated = len(slots) > MAX_BACKFILL_SLOTS
    slots = slots[:MAX_BACKFILL_SLOTS]
    before = {run.scheduled_time: run for run in await store.runs.for_slots(job_id, slots)}
    created: list[RunRef] = []
    if not request.dry_run:

        async def fill(change: Change) -> tuple[dict[datetime | None, RunRef], list[RunRef]]:
            missing = [s for s in slots if s not in before]
            done = await store.runs.insert_backfill(job_id, missing, now=now, conn=change.conn)
            had = before | {run.scheduled_time: run for run in done.existing}  # made meanwhile, by another
            made = done.created
            window = {"start": request.start, "end": request.end}
            change.record(after={**window, "created": len(made), "run_ids": [run.id for run in made]})
            return had, made

        before, created = await audited(
            store, actor, "cron_job.backfill", "cron_job", job_id, now=now, change=fill
        )
        fresh = [run for run in created if run.status is ExecutionStatus.PENDING and run.queued_at is None]
        await enqueue(store, queue, ready_runs(fresh, now), now=now)
    runs = {**before, **{run.scheduled_time: run for run in created}}
    return BackfillResult(
        dry_run=request.dry_run,
        slots=[
            BackfillSlot(
                scheduled_time=slot,
                run_id=runs[slot].id if slot in runs else None,
                existed=slot in before,
            )
            for slot in slots
        ],
        created=len(created),
        truncated=truncated,
    )


# a schedule's preview (/api/cron-preview) -----------------------------------------------------


class SchedulePreview(BaseModel):
    cron_expression: str
    timezone: str = Field(default="UTC", description="the IANA zone the expression is read in")
    next_fire_times: list[datetime] = Field(
        description="the next slots after now, earliest first (UTC); fewer than asked when no more exist"
    )
    next_fire_times_local: list[str] = Field(description="the same slots as wall-clock times of the zone")


def check_expression(cron_expression: str) -> None:
    """validate_cron_expression, its refusal naming the field at fault (cron_expression)."""
    try:
        validate_cron_expression(cron_expression)
    except InvalidCronJobError as error:
        raise InvalidCronJobError(str(error), field="cron_expression") from None


def check_timezone(timezone: str) -> None:
    """An IANA zone jobu knows, or an InvalidCronJobError naming the field (timezone)."""
    try:
        zone(timezone)
    except InvalidCronJobError as error:
        raise InvalidCronJobError(str(error), field="timezone") from None


def preview(
    cron_expression: str, *, timezone: str = "UTC", count: int = DEFAULT_PREVIEW, now: datetime
) -> SchedulePreview:
    """The `count` slots after `now`; InvalidCronJobError (saying why) for an expression jobu refuses."""
    check_expression(cron_expression)
    check_timezone(timezone)
    times: list[datetime] = []
    try:
        for slot in Schedule(cron_expression, timezone).slots_after(now):
            times.append(slot)
            if len(times) == count:
                break
    except (CroniterError, ValueError, OverflowError):
        pass  # no slot within croniter's reach or before year 9999: the ones found are all there are
    where = zone(timezone)
    return SchedulePreview(
        cron_expression=cron_expression,
        timezone=timezone,
        next_fire_times=times,
        next_fire_times_local=[time.astimezone(where).isoformat() for time in times],
    )
