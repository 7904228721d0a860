"""Creating and switching cron jobs, with the checks that keep bad definitions out of the store."""

from __future__ import annotations

from collections.abc import Set
from datetime import datetime

from pydantic import ValidationError

from jobu.cron import next_slot_after, validate_cron_expression
from jobu.errors import DuplicateError, InvalidCronJobError, NotFoundError
from jobu.models import MAX_PARAMS_BYTES, CronJob, CronJobSpec, params_size
from jobu.params_schema import params_problem
from jobu.store import JobStore

# The worker needs a few seconds after the handler to store the result and re-queue a retry.
WORKER_MARGIN_SECONDS = 5


def validate_spec(spec: CronJobSpec, *, known_handlers: Set[str], worker_timeout_seconds: int) -> None:
    """Raise InvalidCronJobError with a message that says what is wrong with `spec`."""
    validate_cron_expression(spec.cron_expression)
    if spec.handler_name not in known_handlers:
        raise InvalidCronJobError(
            f"unknown handler {spec.handler_name!r}; registered handlers: {', '.join(sorted(known_handlers))}"
        )
    longest = worker_timeout_seconds - WORKER_MARGIN_SECONDS
    if spec.timeout_seconds > longest:
        raise InvalidCronJobError(
            f"timeout_seconds={spec.timeout_seconds} cannot be honoured: the worker function runs at most "
            f"{worker_timeout_seconds}s, so a job may take at most {longest}s"
        )
    size = params_size(spec.handler_params)
    if size > MAX_PARAMS_BYTES:
        raise InvalidCronJobError(f"handler_params is {size} bytes; the limit is {MAX_PARAMS_BYTES}")
    problem = params_problem(spec.handler_name, spec.handler_params)
    if problem is not None:
        raise InvalidCronJobError(problem)


def parse_spec(data: dict[str, object]) -> CronJobSpec:
    """A CronJobSpec from user input, with pydantic's complaints turned into one clear error."""
    try:
        return CronJobSpec.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise InvalidCronJobError(f"invalid cron job: {problems}") from error


async def create_cron_job(
    store: JobStore,
    spec: CronJobSpec,
    *,
    known_handlers: Set[str],
    worker_timeout_seconds: int,
    now: datetime,
) -> CronJob:
    validate_spec(spec, known_handlers=known_handlers, worker_timeout_seconds=worker_timeout_seconds)
    next_run_at = next_slot_after(spec.cron_expression, now) if spec.is_enabled else None
    try:
        return await store.insert_cron_job(spec, next_run_at=next_run_at, now=now)
    except DuplicateError:
        raise InvalidCronJobError(f"a cron job named {spec.name!r} exists already") from None


async def set_enabled(store: JobStore, name: str, *, enabled: bool, now: datetime) -> CronJob:
    """Enable (scheduling from the next slot after now, no catch-up) or disable a job."""
    job = await store.get_cron_job_by_name(name)
    if job is None:
        raise NotFoundError(f"no cron job named {name!r}")
    next_run_at = next_slot_after(job.cron_expression, now) if enabled else None
    await store.set_cron_job_enabled(name, enabled=enabled, next_run_at=next_run_at, now=now)
    updated = await store.get_cron_job_by_name(name)
    assert updated is not None
    return updated
