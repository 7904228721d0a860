"""How the admin commands show the operations' models: tables for lists, fields for one row."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from jobu.traces import TraceParent
from jobu_local.commands.table import cell, kafka_coordinates, render, to_json

if TYPE_CHECKING:
    from jobu.listings import ExecutionSummary, OperatorAction, RejectedEvent, RejectedEventSummary
    from jobu.models import CronJob, Execution
    from jobu.operations.cron_jobs import BackfillResult
    from jobu.operations.dead_letters import DeadLetter, DeadLetterDepth, RedriveTask
    from jobu.operations.paging import Page
    from jobu.operations.pools import PoolInfo
    from jobu.operations.runs import RunDetail

RUN_COLUMNS = (
    "id",
    "status",
    "handler",
    "source",
    "job",
    "retries",
    "scheduled",
    "started",
    "finished",
    "error",
)
CRON_COLUMNS = (
    "id",
    "name",
    "cron",
    "zone",
    "handler",
    "state",
    "overlap",
    "retries",
    "timeout",
    "next_run_at",
)


def dump(value: Any) -> str:
    """--json: a model or row (pydantic model, dataclass) as its JSON object, a list (or a page's
    items) as a JSON array."""
    from pydantic_core import to_jsonable_python

    from jobu.operations.paging import Page

    if isinstance(value, Page):
        value = value.items
    return to_json(to_jsonable_python(value))


def listing[T](table: Callable[[Sequence[T]], str], noun: str) -> Callable[[Page[T]], str]:
    """A page shown as its table and a last line: `12 runs (page 1 of 3; --page 2 for more)`."""

    def shown(page: Page[T]) -> str:
        position = f"page {page.page} of {max(page.pages, 1)}"
        more = f"; --page {page.page + 1} for more" if page.page < page.pages else ""
        return f"{table(page.items)}\n{page.total} {noun}{'' if page.total == 1 else 's'} ({position}{more})"

    return shown


def fields(pairs: Sequence[tuple[str, Any]]) -> str:
    width = max(len(name) for name, _ in pairs)
    return "\n".join(f"{name.ljust(width)}  {_text(value)}" for name, value in pairs)


def _text(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return cell(value, width=10_000)


# --- cron jobs -----------------------------------------------------------------------------------


def cron_table(jobs: Sequence[CronJob]) -> str:
    rows = [
        [
            job.id,
            job.name,
            job.cron_expression,
            job.timezone,
            job.handler_name,
            _state(job),
            job.overlap_policy,
            job.max_retry,
            job.timeout_seconds,
            job.next_run_at,
        ]
        for job in jobs
    ]
    return render(CRON_COLUMNS, rows)


def _state(job: CronJob) -> str:
    if not job.is_enabled:
        return "disabled"
    if job.paused_at is None:
        return "enabled"
    return f"paused until {cell(job.paused_until)}" if job.paused_until else "paused"


def cron_detail(job: CronJob) -> str:
    window = job.catchup_window_seconds
    return fields(
        [
            ("id", job.id),
            ("name", job.name),
            ("description", job.description or None),
            ("cron_expression", job.cron_expression),
            ("timezone", job.timezone),
            ("handler_name", job.handler_name),
            ("handler_params", job.handler_params),
            ("state", _state(job)),
            ("catchup", f"{job.catchup_policy} (limit {job.catchup_limit}, window {window or '-'} s)"),
            ("overlap_policy", job.overlap_policy),
            ("max_retry", job.max_retry),
            ("timeout_seconds", job.timeout_seconds),
            # what its runs carry
            ("priority", job.priority),
            ("ttl_seconds", job.ttl_seconds),
            ("tags", job.tags),
            ("concurrency_key", job.concurrency_key),
            ("next_run_at", job.next_run_at),
            ("created_at", job.created_at),
            ("updated_at", job.updated_at),
        ]
    )


def backfill_table(result: BackfillResult) -> str:
    rows = [
        [
            slot.scheduled_time,
            slot.run_id,
            "existed" if slot.existed else ("would create" if result.dry_run else "created"),
        ]
        for slot in result.slots
    ]
    return render(("slot", "run", "outcome"), rows)


# --- runs ----------------------------------------------------------------------------------------


def _job(run: Execution | ExecutionSummary) -> str | None:
    name = getattr(run, "cron_name", None)
    if run.job_id is None:
        return None
    return f"{run.job_id} {name}" if name else str(run.job_id)


def runs_table(runs: Sequence[Execution | ExecutionSummary]) -> str:
    rows = [
        [
            run.id,
            run.status.value,
            run.handler_name,
            run.param_source,
            _job(run),
            f"{run.retry_count}/{run.max_retry}",
            run.scheduled_time,
            run.started_at,
            run.finished_at,
            run.error_message,
        ]
        for run in runs
    ]
    return render(RUN_COLUMNS, rows)


def run_detail(run: RunDetail) -> str:
    kafka = (
        None
        if run.source_topic is None
        else kafka_coordinates(run.source_topic, run.source_partition, run.source_offset)
    )
    lines = [
        fields(
            [
                ("id", run.id),
                ("status", run.status.value),
                ("handler_name", run.handler_name),
                ("cron job", _job(run)),
                ("param_source", run.param_source),
                ("enqueued_by", run.enqueued_by),  # escaped as every stored string (cell)
                ("kafka record", kafka),
                ("trace", _trace(run.trace_parent)),
                ("priority", run.priority),
                ("tags", run.tags),
                ("idempotency_key", run.idempotency_key),
                ("concurrency_key", run.concurrency_key),
                ("debounce_key", run.debounce_key),
                ("attempts", f"{run.retry_count + 1} (retries {run.retry_count} of {run.max_retry})"),
                ("timeout_seconds", run.timeout_seconds),
                ("scheduled_time", run.scheduled_time),
                ("created_at", run.created_at),
                ("queued_at", run.queued_at),
                ("available_at", run.available_at),
                ("expires_at", run.expires_at),
                ("started_at", run.started_at),
                ("finished_at", run.finished_at),
                ("deadline_at", run.deadline_at),
                ("error_message", run.error_message),
                ("result", run.result),
            ]
        ),
        "",
        "params (key, value, from):",
    ]
    params = [[key, value, run.params_provenance.get(key)] for key, value in run.params.items()]
    lines.append(_indented(render(["key", "value", "from"], params)) if params else "  (none)")
    parent = run.parent
    lines += ["", "parent: " + ("-" if parent is None else _summary_line(parent))]
    lines.append(f"children ({len(run.children)}):" if run.children else "children: -")
    if run.children:
        lines.append(_indented(runs_table(run.children)))
    return "\n".join(lines)


def _trace(trace_parent: str | None) -> str | None:
    """The run's W3C trace id, its traceparent and the same trace in X-Ray's notation."""
    trace = TraceParent.parse(trace_parent)
    if trace is None:
        return None
    return f"{trace.trace_id} (traceparent {trace}; X-Ray {trace.xray_trace_id})"


def _summary_line(run: ExecutionSummary) -> str:
    return f"run {run.id} {run.status.value} {run.handler_name} (created {cell(run.created_at)})"


def _indented(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


# --- rejected records ----------------------------------------------------------------------------


def _coordinates(record: RejectedEvent | RejectedEventSummary) -> str:
    if record.source_topic is None:
        return record.record_key
    return kafka_coordinates(record.source_topic, record.source_partition, record.source_offset)


def rejected_table(records: Sequence[RejectedEventSummary]) -> str:
    rows = [
        [
            record.id,
            _coordinates(record),
            record.created_at,
            record.reason,
            record.raw_preview
            if record.raw_encoding == "utf-8"
            else f"({record.raw_encoding}) {record.raw_preview}",
        ]
        for record in records
    ]
    return render(["id", "record", "received", "reason", "value"], rows)


def rejected_detail(record: RejectedEvent) -> str:
    header = fields(
        [
            ("id", record.id),
            ("record", _coordinates(record)),
            ("received", record.created_at),
            ("reason", record.reason),
            ("encoding", record.raw_encoding),
        ]
    )
    return f"{header}\nvalue:\n{record.raw_value}"


# --- the dead-letter queue -----------------------------------------------------------------------


def depth_line(pool: str) -> Callable[[DeadLetterDepth], str]:
    def line(depth: DeadLetterDepth) -> str:
        return (
            f"dead-letter queue of pool {pool}: {depth.visible} visible, {depth.in_flight} in flight, "
            f"{depth.delayed} delayed"
        )

    return line


def dead_letter_table(letters: Sequence[DeadLetter]) -> str:
    rows = [
        [
            letter.message_id,
            letter.execution_id,
            letter.attempt,
            None if letter.run_status is None else letter.run_status.value,
            letter.receive_count,
            letter.sent_at,
            letter.reason or letter.body,
        ]
        for letter in letters
    ]
    return render(["message", "run", "attempt", "run status", "received", "sent", "reason or body"], rows)


def redrive_line(pool: str) -> Callable[[RedriveTask], str]:
    def line(task: RedriveTask) -> str:
        found = "" if task.to_move is None else f", {task.to_move} message(s) to move"
        return (
            f"redrive {task.status.lower()}{found}: back to pool {pool}'s work queue "
            f"(see `jobu dlq redrives --pool {pool}`)"
        )

    return line


def redrive_table(tasks: Sequence[RedriveTask]) -> str:
    rows = [
        [task.status, task.moved, task.to_move, task.started_at, task.failure_reason, task.task_handle]
        for task in tasks
    ]
    return render(["status", "moved", "to move", "started", "failure", "task"], rows)


def pools_table(pools: Sequence[PoolInfo]) -> str:
    rows = [
        [
            pool.name,
            ", ".join(pool.handlers),
            pool.work_queue.visible,
            pool.work_queue.in_flight,
            pool.dead_letters.visible,
            pool.worker_timeout_seconds,
        ]
        for pool in pools
    ]
    return render(["pool", "handlers", "waiting", "in flight", "dead letters", "timeout (s)"], rows)


# --- the audit trail -----------------------------------------------------------------------------


def _change(action: OperatorAction) -> str:
    """What an action changed, in one cell: `field: old -> new, ...` for the fields it changed,
    else what it made or removed."""
    before, after = action.before_state, action.after_state
    if isinstance(before, dict) and isinstance(after, dict):
        keys = [*before, *(key for key in after if key not in before)]
        return ", ".join(f"{key}: {cell(before.get(key))} -> {cell(after.get(key))}" for key in keys)
    if after is not None:
        return cell(after, width=10_000)
    return "removed " + cell(before, width=10_000) if before is not None else "-"


def audit_table(actions: Sequence[OperatorAction]) -> str:
    rows = [
        [
            action.id,
            action.created_at,
            action.principal,
            action.operation,
            f"{action.target_kind} {action.target_id}"
            if action.target_id is not None
            else action.target_kind,
            _change(action),
        ]
        for action in actions
    ]
    return render(["id", "at", "principal", "operation", "target", "change"], rows)
