"""The queue dispatcher's work: a Kafka batch (MSK or self-managed) becomes runs and messages.

Every record ends as exactly one of:
- a PENDING run (param_source 'event'), written with one multi-row INSERT and queued with
  concurrent SendMessageBatch calls (with its delay, when it has run_at / delay_seconds; beyond
  SQS's 15 minutes it is left unsent and the sweeper sends it when due);
- a duplicate of the run that holds its idempotency key (logged, counted in RunsDeduplicated);
- with `debounce`, a request of its key's window: it joins the run that still waits (its params
  replace the run's, its start moves) or opens a window with a new run, left unsent until its
  start (jobu.store.debounce; the sweeper sends it);
- a rejected_events row holding its raw value (text where that is faithful, else base64, and
  says which) and the reason, logged at ERROR and counted in EventsRejected.

No record can fail the batch: only an unreachable database does (the mapping then retries it,
which is safe). Every write is keyed by the record (topic:partition:offset, or a digest when the
coordinates are themselves broken), so a redelivered batch, or a record repeated inside one
batch, creates nothing new.
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from jobu.documents import DocumentError, FieldError, parse_json, storage_problem
from jobu.errors import StoreUnavailableError
from jobu.kafka_records import BrokenRecord, Coordinates, KafkaRecord, StoredRaw, read_event
from jobu.models import CronJob, Execution, JobMessage, NewExecution, RunRef
from jobu.observability import DEDUPLICATED, REJECTED, count, logger
from jobu.params_schema import params_problem
from jobu.provenance import merge_params
from jobu.store import JobStore
from jobu.work_queue import WorkQueue, dispatch_new_runs

# Runs that match no cron job: no retries, five minutes (bounded by the worker's own Timeout).
EVENT_DEFAULT_MAX_RETRY = 0
EVENT_DEFAULT_TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class Accepted:
    record: KafkaRecord
    message: JobMessage


@dataclass(frozen=True)
class Rejected:
    key: str
    coordinates: Coordinates | None
    raw: StoredRaw
    reason: str

    @classmethod
    def of(cls, record: KafkaRecord | BrokenRecord, reason: str) -> Rejected:
        if isinstance(record, BrokenRecord):
            return cls(record.key, record.coordinates, record.raw, record.reason)
        return cls(record.key, record.coordinates, StoredRaw.of(record.value), reason)

    def row(self) -> dict[str, Any]:
        where = self.coordinates
        return {
            "record_key": self.key,
            "source_topic": None if where is None else where.topic,
            "source_partition": None if where is None else where.partition,
            "source_offset": None if where is None else where.offset,
            "raw_value": self.raw.text,
            "raw_encoding": self.raw.encoding,
            # reasons quote what they refuse; keep them storable whatever was quoted
            "reason": self.reason.encode("utf-8", "backslashreplace").decode().replace("\x00", "\\x00"),
        }


@dataclass
class EventBatchReport:
    records: int
    duplicates: int = 0
    # records that made no run because a run holds their idempotency key: record key -> that run
    deduplicated: dict[str, int | None] = field(default_factory=dict)
    dispatched: list[int] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    unsent: list[int] = field(default_factory=list)
    # debounced records: record key -> the run of its window (joined or new; sent when it starts)
    debounced: dict[str, int | None] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _describe_field(error: FieldError) -> str:
    if error.missing:
        return f"{error.field} is missing"
    if error.field == "params":
        return f"params must be a JSON object ({error.message})"
    return f"{error.field}: {error.message}"


def _message(value: bytes | None) -> JobMessage | str:
    """The record's job message, or the reason it is not one."""
    if value is None:
        return "record has no value (a tombstone)"
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"value is not UTF-8 text: {error}"
    try:
        document = parse_json(text)
    except DocumentError as error:
        return str(error)
    if not isinstance(document, dict):
        return f"value must be a JSON object, not {type(document).__name__}"
    try:
        message = JobMessage.parse(document)
    except FieldError as error:
        return _describe_field(error)
    return storage_problem(message.params, parsed_from_bytes=len(value)) or message


def parse_record(record: KafkaRecord | BrokenRecord, known_handlers: Set[str]) -> Accepted | Rejected:
    """Decide whether one Kafka record can become a run, and if not, say why."""
    if isinstance(record, BrokenRecord):
        return Rejected.of(record, record.reason)
    message = _message(record.value)
    if isinstance(message, str):
        return Rejected.of(record, message)
    if message.handler_name not in known_handlers:
        return Rejected.of(record, f"unknown handler {message.handler_name!r}")
    return Accepted(record, message)


def _base_jobs(jobs: Iterable[CronJob]) -> tuple[dict[int, CronJob], dict[str, CronJob]]:
    by_id: dict[int, CronJob] = {}
    by_handler: dict[str, CronJob] = {}
    for job in jobs:  # ordered by id: the oldest job of a handler gives its base params
        by_id[job.id] = job
        by_handler.setdefault(job.handler_name, job)
    return by_id, by_handler


def build_execution(accepted: Accepted, base: CronJob | None, *, now: datetime) -> NewExecution:
    """The run the record asks for; FieldError when its times are out of bounds at `now`."""
    message, where = accepted.message, accepted.record.coordinates
    flow_control = message.options.run_fields(now)
    # the cron job's params are the base; the event's win on conflict
    params, provenance = merge_params(base.handler_params if base else {}, message.params, source="event")
    return NewExecution(
        job_id=None if base is None else base.id,
        handler_name=message.handler_name,
        params=params,
        params_provenance=provenance,
        param_source="event",
        max_retry=EVENT_DEFAULT_MAX_RETRY if base is None else base.max_retry,
        timeout_seconds=EVENT_DEFAULT_TIMEOUT_SECONDS if base is None else base.timeout_seconds,
        source_topic=where.topic,
        source_partition=where.partition,
        source_offset=where.offset,
        trace_parent=accepted.record.trace_parent,
        **flow_control,
    )


@dataclass
class BatchPlan:
    runs: list[tuple[Accepted, NewExecution]]
    rejected: list[Rejected]
    duplicates: int


async def plan_batch(store: JobStore, event: Any, known_handlers: Set[str], *, now: datetime) -> BatchPlan:
    records = list(read_event(event))
    unique: dict[str, KafkaRecord | BrokenRecord] = {}
    for record in records:
        unique.setdefault(record.key, record)  # the first delivery of a key wins
    parsed = [parse_record(record, known_handlers) for record in unique.values()]
    accepted = [p for p in parsed if isinstance(p, Accepted)]
    rejected = [p for p in parsed if isinstance(p, Rejected)]
    job_ids = sorted({a.message.job_id for a in accepted if a.message.job_id is not None})
    handlers = sorted({a.message.handler_name for a in accepted if a.message.job_id is None})
    by_id, by_handler = _base_jobs(await store.cron_jobs.for_events(job_ids, handlers) if accepted else [])
    runs = []
    for item in accepted:
        job_id, handler_name = item.message.job_id, item.message.handler_name
        base = by_id.get(job_id) if job_id is not None else by_handler.get(handler_name)
        if job_id is not None and base is None:
            rejected.append(Rejected.of(item.record, f"no cron job with id {job_id}"))
        elif base is not None and base.handler_name != handler_name:
            reason = f"cron job {job_id} runs handler {base.handler_name!r}, not {handler_name!r}"
            rejected.append(Rejected.of(item.record, reason))
        else:
            try:
                run = build_execution(item, base, now=now)
            except FieldError as error:
                rejected.append(Rejected.of(item.record, _describe_field(error)))
                continue
            # the params the run will have (the cron job's, the event's over them) against the
            # handler's schema, without importing the handler
            problem = params_problem(handler_name, run.params)
            if problem:
                rejected.append(Rejected.of(item.record, problem))
            else:
                runs.append((item, run))
    return BatchPlan(runs=runs, rejected=rejected, duplicates=len(records) - len(unique))


@dataclass
class Inserted:
    pending: list[Execution | RunRef] = field(default_factory=list)
    refused: list[Rejected] = field(default_factory=list)
    # requests that made no run: another run holds their idempotency key (record key: its run)
    duplicates: dict[str, int | None] = field(default_factory=dict)


async def _insert_runs(
    store: JobStore, runs: list[tuple[Accepted, NewExecution]], *, now: datetime
) -> Inserted:
    """One INSERT for the batch; if the database refuses it, one per run, so that a run the
    database will not take is rejected on its own instead of blocking the others."""
    try:
        done = await store.runs.insert_event_requests([run for _, run in runs], now=now)
        return Inserted(done.pending, [], done.duplicates)
    except StoreUnavailableError:
        raise
    except Exception as error:
        if len(runs) == 1:
            return Inserted(refused=[_refused(runs[0][0], error)])
        logger.exception("batch INSERT refused; inserting the batch's runs one by one")
    inserted = Inserted()
    for accepted, run in runs:
        try:
            done = await store.runs.insert_event_requests([run], now=now)
        except StoreUnavailableError:
            raise
        except Exception as error:
            inserted.refused.append(_refused(accepted, error))
        else:
            inserted.pending += done.pending
            inserted.duplicates.update(done.duplicates)
    return inserted


def _log_duplicates(duplicates: dict[str, int | None]) -> None:
    """A request whose idempotency key a run holds is a duplicate of that run, not a rejection."""
    for record_key, execution_id in sorted(duplicates.items()):
        logger.info(
            "Kafka record is a duplicate of a run with the same idempotency key: no new run",
            extra={"record_key": record_key, "execution_id": execution_id},
        )
    count(DEDUPLICATED, len(duplicates))


def _refused(accepted: Accepted, error: Exception) -> Rejected:
    return Rejected.of(accepted.record, f"the job store refused the run: {type(error).__name__}: {error}")


async def _debounce(
    store: JobStore, runs: list[tuple[Accepted, NewExecution]], *, now: datetime
) -> tuple[dict[str, int | None], list[Rejected]]:
    """Each debounced record in its own transaction, in the batch's order (the last one's params
    win); a request the database refuses is rejected on its own."""
    debounced: dict[str, int | None] = {}
    refused: list[Rejected] = []
    for accepted, run in runs:
        try:
            done = await store.debounce.request(run, request_key=accepted.record.key, now=now)
        except StoreUnavailableError:
            raise
        except Exception as error:
            refused.append(_refused(accepted, error))
            continue
        debounced[accepted.record.key] = None if done.run is None else done.run.id
        logger.info(
            "Kafka record debounced",
            extra={
                "record_key": accepted.record.key,
                "execution_id": debounced[accepted.record.key],
                "joined": done.joined,
                "redelivered": done.redelivered,
            },
        )
    return debounced, refused


async def _keep_rejected(store: JobStore, rejected: list[Rejected], *, now: datetime) -> None:
    for item in rejected:
        where = item.coordinates
        logger.error(
            "Kafka record rejected",
            extra={
                "reason": item.reason,
                "record_key": item.key,
                "topic": None if where is None else where.topic,
                "partition": None if where is None else where.partition,
                "offset": None if where is None else where.offset,
            },
        )
    await store.rejected_records.insert([item.row() for item in rejected], now=now)
    count(REJECTED, len(rejected))


async def dispatch_event(
    store: JobStore,
    queue: WorkQueue,
    event: Any,
    *,
    known_handlers: Set[str],
    now: datetime,
    keep_rejected: bool = True,
) -> EventBatchReport:
    """`keep_rejected` False: the records refused are reported, not stored (a replay's record is
    stored already, or was discarded, and must stay so)."""
    plan = await plan_batch(store, event, known_handlers, now=now)
    plain = [item for item in plan.runs if item[1].debounce is None]
    inserted = await _insert_runs(store, plain, now=now) if plain else Inserted()
    debounced, refused = await _debounce(store, [item for item in plan.runs if item[1].debounce], now=now)
    rejected = plan.rejected + inserted.refused + refused
    if keep_rejected:
        await _keep_rejected(store, rejected, now=now)
    _log_duplicates(inserted.duplicates)
    sent = await dispatch_new_runs(store, queue, inserted.pending, now=now, message="event run dispatched")
    return EventBatchReport(
        records=len(plan.runs) + len(plan.rejected) + plan.duplicates,
        duplicates=plan.duplicates,
        deduplicated=inserted.duplicates,
        dispatched=sent.sent,
        rejected=[f"{item.key}: {item.reason}" for item in rejected],
        unsent=sorted(sent.failed),
        debounced=debounced,
    )
