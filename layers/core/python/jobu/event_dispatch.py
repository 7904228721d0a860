"""The queue dispatcher's work: a Kafka batch (MSK or self-managed) becomes runs and messages.

Good records become PENDING runs (param_source 'event') written with one multi-row INSERT and
queued with concurrent SendMessageBatch calls. A record that cannot become a run is kept in
rejected_events with its raw value and the reason, logged and counted; it never stops the rest
of the batch. Every write is keyed by (topic, partition, offset), so a redelivered batch creates
nothing new.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Iterable, Set
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.data_classes.kafka_event import KafkaEventRecord
from pydantic import BaseModel, Field, ValidationError

from jobu.models import MAX_PARAMS_BYTES, CronJob, JobMessage, NewExecution, params_size
from jobu.observability import REJECTED, count, logger
from jobu.params_schema import params_problem
from jobu.store import JobStore
from jobu.work_queue import WorkQueue, dispatch_new_runs

# Runs that match no cron job: no retries, five minutes (bounded by the worker's own Timeout).
EVENT_DEFAULT_MAX_RETRY = 0
EVENT_DEFAULT_TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class Accepted:
    record: KafkaEventRecord
    message: JobMessage


@dataclass(frozen=True)
class Rejected:
    record: KafkaEventRecord
    raw_value: str
    reason: str

    def row(self) -> dict[str, Any]:
        return {
            "source_topic": self.record.topic,
            "source_partition": self.record.partition,
            "source_offset": self.record.offset,
            "raw_value": self.raw_value,
            "reason": self.reason,
        }


class EventBatchReport(BaseModel):
    records: int
    dispatched: list[int] = Field(default_factory=list)
    rejected: list[str] = Field(default_factory=list)
    unsent: list[int] = Field(default_factory=list)


def _describe_validation(error: ValidationError) -> str:
    first = error.errors()[0]
    field = ".".join(map(str, first["loc"])) or "message"
    if first["type"] == "missing":
        return f"{field} is missing"
    if field == "params":
        return f"params must be a JSON object ({first['msg']})"
    return f"{field}: {first['msg']}"


def _decode(record: KafkaEventRecord) -> tuple[str, JobMessage | str]:
    """The record's value as text, and its message or the reason it is not one."""
    try:
        raw = record.decoded_value
    except (binascii.Error, ValueError):
        return str(record.value), "value is not valid base64"
    text = raw.decode("utf-8", errors="replace")
    try:
        document = json.loads(raw)
    except ValueError as error:
        return text, f"value is not JSON: {error}"
    if not isinstance(document, dict):
        return text, f"value must be a JSON object, not {type(document).__name__}"
    try:
        return text, JobMessage.model_validate(document)
    except ValidationError as error:
        return text, _describe_validation(error)


def parse_record(record: KafkaEventRecord, known_handlers: Set[str]) -> Accepted | Rejected:
    """Decide whether one Kafka record can become a run, and if not, say why."""
    text, message = _decode(record)
    if isinstance(message, str):
        return Rejected(record, text, message)
    if message.handler_name not in known_handlers:
        return Rejected(record, text, f"unknown handler {message.handler_name!r}")
    size = params_size(message.params)
    if size > MAX_PARAMS_BYTES:
        return Rejected(record, text, f"params is {size} bytes; the limit is {MAX_PARAMS_BYTES}")
    if problem := params_problem(message.handler_name, message.params, partial=True):
        return Rejected(record, text, problem)
    return Accepted(record, message)


def _base_jobs(jobs: Iterable[CronJob]) -> tuple[dict[int, CronJob], dict[str, CronJob]]:
    by_id: dict[int, CronJob] = {}
    by_handler: dict[str, CronJob] = {}
    for job in jobs:  # ordered by id: the oldest job of a handler gives its base params
        by_id[job.id] = job
        by_handler.setdefault(job.handler_name, job)
    return by_id, by_handler


def build_execution(accepted: Accepted, base: CronJob | None) -> NewExecution:
    message, record = accepted.message, accepted.record
    return NewExecution(
        job_id=None if base is None else base.id,
        handler_name=message.handler_name,
        # the cron job's params are the base; the event's win on conflict
        params={**(base.handler_params if base else {}), **message.params},
        param_source="event",
        max_retry=EVENT_DEFAULT_MAX_RETRY if base is None else base.max_retry,
        timeout_seconds=EVENT_DEFAULT_TIMEOUT_SECONDS if base is None else base.timeout_seconds,
        source_topic=record.topic,
        source_partition=record.partition,
        source_offset=record.offset,
    )


async def plan_batch(
    store: JobStore, records: Iterable[KafkaEventRecord], known_handlers: Set[str]
) -> tuple[list[NewExecution], list[Rejected]]:
    parsed = [parse_record(record, known_handlers) for record in records]
    accepted = [p for p in parsed if isinstance(p, Accepted)]
    rejected = [p for p in parsed if isinstance(p, Rejected)]
    job_ids = sorted({a.message.job_id for a in accepted if a.message.job_id is not None})
    handlers = sorted({a.message.handler_name for a in accepted if a.message.job_id is None})
    by_id, by_handler = _base_jobs(await store.cron_jobs_for_events(job_ids, handlers) if accepted else [])
    executions = []
    for item in accepted:
        job_id, handler_name = item.message.job_id, item.message.handler_name
        base = by_id.get(job_id) if job_id is not None else by_handler.get(handler_name)
        if job_id is not None and base is None:
            rejected.append(
                Rejected(item.record, item.record.decoded_value.decode(), f"no cron job with id {job_id}")
            )
        elif job_id is not None and base is not None and base.handler_name != handler_name:
            reason = f"cron job {job_id} runs handler {base.handler_name!r}, not {handler_name!r}"
            rejected.append(Rejected(item.record, item.record.decoded_value.decode(), reason))
        else:
            executions.append(build_execution(item, base))
    return executions, rejected


async def dispatch_records(
    store: JobStore,
    queue: WorkQueue,
    records: list[KafkaEventRecord],
    *,
    known_handlers: Set[str],
    now: datetime,
) -> EventBatchReport:
    executions, rejected = await plan_batch(store, records, known_handlers)
    for item in rejected:
        logger.error(
            "Kafka record rejected",
            extra={
                "reason": item.reason,
                "topic": item.record.topic,
                "partition": item.record.partition,
                "offset": item.record.offset,
            },
        )
    await store.insert_rejected_events([item.row() for item in rejected], now=now)
    count(REJECTED, len(rejected))
    pending = await store.insert_event_executions(executions, now=now)
    sent = await dispatch_new_runs(store, queue, pending, now=now, message="event run dispatched")
    return EventBatchReport(
        records=len(records),
        dispatched=sent.sent,
        rejected=[f"{r.record.topic}-{r.record.partition}@{r.record.offset}: {r.reason}" for r in rejected],
        unsent=sorted(sent.failed),
    )
