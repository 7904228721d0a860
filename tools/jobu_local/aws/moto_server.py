"""The embedded AWS emulator: moto server, with CloudWatch Logs filtering as CloudWatch does it.

moto's FilterLogEvents matches plain terms only and returns every event for a JSON or
space-delimited pattern; here it uses the project's matcher (jobu_local.aws.cloudwatch.
filter_pattern), so `aws logs filter-log-events --filter-pattern '{ $.execution_id = 42 }'` and
boto3 get from the local endpoint what CloudWatch would return. A pattern CloudWatch would refuse
is refused the same way (InvalidParameterException). SQS's message move tasks (dead-letter queue
redrive), which moto lacks, come from jobu_local.aws.endpoint import JOURNAL_VARIABLE
from jobu_local.aws.message_moves. With JOBU_LOCAL_LOGS_JOURNAL set,
CloudWatch Logs outlive the process (jobu_local.aws.cloudwatch.journal). Everything else is moto's own.

Run as `python -m jobu_local.aws.moto_server -H 127.0.0.1 -p PORT` (moto server's own arguments).
"""

from __future__ import annotations

import datetime
import os
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from moto.core import utils as moto_utils
from moto.logs import models as logs_models
from moto.logs.exceptions import InvalidParameterException
from moto.server import main
from moto.sqs import models as sqs_models

from jobu_local.aws.cloudwatch import journal
from jobu_local.aws.cloudwatch.filter_pattern import FilterPatternError, Matcher, compile_pattern
from jobu_local.aws.endpoint import JOURNAL_VARIABLE
from jobu_local.aws.message_moves import provide_message_move_tasks


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> Matcher:
    # moto builds a filter per event: compiling once per pattern keeps a large group fast
    try:
        return compile_pattern(pattern)
    except FilterPatternError as error:
        raise InvalidParameterException(f"Invalid filter pattern: {error}") from None


class EventMessageFilter:
    """Replaces moto.logs.models.EventMessageFilter (same constructor and `matches`)."""

    def __init__(self, pattern: str) -> None:
        self.matcher = _compiled(pattern or "")

    def matches(self, message: str) -> bool:
        return self.matcher(message)


def use_project_filter_patterns() -> None:
    logs_models.EventMessageFilter = EventMessageFilter  # type: ignore[attr-defined,assignment]


def _now_ms(dt: datetime.datetime | None = None) -> float:
    return time.time() * 1000.0 if dt is None else moto_utils.unix_time_millis(dt)


def _now(dt: datetime.datetime | None = None) -> float:
    return time.time() if dt is None else moto_utils.unix_time(dt)


def _within_retention(self: sqs_models.SQSBackend, queue_name: str, message: sqs_models.Message) -> bool:
    retention_seconds = int(self.get_queue(queue_name).message_retention_period)  # type: ignore[attr-defined]
    return retention_seconds + message.sent_timestamp / 1000 > time.time()  # type: ignore[operator]


def speed_up_sqs() -> None:
    """moto's SQS reads the clock through datetime for every message of a queue on every call, and
    its retention check recomputes all queue attributes per message received: a burst of a few
    hundred messages then costs seconds of CPU. Same answers, read from time.time() and from the
    queue's retention period directly."""
    sqs_models.unix_time_millis = _now_ms  # type: ignore[attr-defined]
    sqs_models.unix_time = _now  # type: ignore[attr-defined]
    sqs_models.SQSBackend.is_message_valid_based_on_retention_period = _within_retention  # type: ignore[method-assign]


def keep_logs_in(path: Path) -> None:
    """Load the journal's log groups, streams and events into moto, then journal every change."""
    state = journal.load(path)
    for (account, region, name), group in state.groups.items():
        backend = logs_models.logs_backends[account][region]
        backend.create_log_group(name, {})
        if group.retention_days is not None:
            # an int, as the API call passes it (moto's hint says str)
            backend.put_retention_policy(name, group.retention_days)  # type: ignore[arg-type]
        for stream_name, stream in group.streams.items():
            backend.create_log_stream(name, stream_name)
            if stream.events:
                # straight to the group: the ingestion checks (14 days old at most) are for new events
                backend.groups[name].put_log_events(stream_name, stream.events)
    _journal_changes(journal.JournalWriter(path))


def _journal_changes(writer: journal.JournalWriter) -> None:
    backend_class = logs_models.LogsBackend
    group_class = logs_models.LogGroup

    def where(backend: Any, group: str) -> dict[str, Any]:
        return {"account": backend.account_id, "region": backend.region_name, "group": group}

    def after(original: Any, record: Any) -> Any:
        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            result = original(self, *args, **kwargs)  # refused calls raise: nothing journaled
            writer.append(record(self, *args))
            return result

        return method

    backend_class.create_log_group = after(  # type: ignore[method-assign]
        backend_class.create_log_group, lambda b, name, *_: {"op": "group", **where(b, name)}
    )
    backend_class.delete_log_group = after(  # type: ignore[method-assign]
        backend_class.delete_log_group, lambda b, name: {"op": "delete_group", **where(b, name)}
    )
    backend_class.create_log_stream = after(  # type: ignore[method-assign]
        backend_class.create_log_stream,
        lambda b, name, stream: {"op": "stream", **where(b, name), "stream": stream},
    )
    backend_class.delete_log_stream = after(  # type: ignore[method-assign]
        backend_class.delete_log_stream,
        lambda b, name, stream: {"op": "delete_stream", **where(b, name), "stream": stream},
    )
    backend_class.put_retention_policy = after(  # type: ignore[method-assign]
        backend_class.put_retention_policy,
        lambda b, name, days: {"op": "retention", **where(b, name), "days": int(days)},
    )
    backend_class.delete_retention_policy = after(  # type: ignore[method-assign]
        backend_class.delete_retention_policy,
        lambda b, name: {"op": "retention", **where(b, name), "days": None},
    )
    # the group's own method receives only the events the backend accepted (not too old or new)
    group_class.put_log_events = after(  # type: ignore[method-assign]
        group_class.put_log_events,
        lambda g, stream, events: {
            "op": "events",
            "account": g.account_id,
            "region": g.region,
            "group": g.name,
            "stream": stream,
            "events": [{"timestamp": e["timestamp"], "message": e["message"]} for e in events],
        },
    )


if __name__ == "__main__":
    if journal_file := os.environ.get(JOURNAL_VARIABLE):
        keep_logs_in(Path(journal_file))
    use_project_filter_patterns()
    speed_up_sqs()
    provide_message_move_tasks()
    main()
