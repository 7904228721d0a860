"""`jobu logs --format pretty`: one log event as a person reads it.

A function's line is Powertools Logger's JSON (400-2,000 characters of it); pretty keeps what an
operator looks for: the time, the function, the level, the message, the run's ids (run, job,
handler, trace, request) and an exception's traceback on lines of its own under it. Lambda's own
records (START/END/REPORT, or platform.* in JSON) keep their text. Every piece of the line is
stored text, so control characters are escaped here (commands/terminal.py) before they reach the
terminal, and a message's own line breaks become indented lines: no field can pose as another line.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from jobu_local.aws.cloudwatch.reader import LogLine
from jobu_local.commands.terminal import escaped

INDENT = "    "
# the run's ids, in the order shown, with the label each gets
IDS = (
    ("execution_id", "run"),
    ("job_id", "job"),
    ("handler_name", "handler"),
    ("retry_count", "retry"),
    ("trace_id", "trace"),
    ("function_request_id", "request"),
)
PLATFORM_FIELDS = (
    "requestId",
    "status",
    "durationMs",
    "billedDurationMs",
    "maxMemoryUsedMB",
    "initDurationMs",
)


def pretty(line: LogLine, label: str) -> str:
    """The event as one line (more when it carries a traceback or a multi-line message)."""
    moment = datetime.fromtimestamp(line.timestamp_ms / 1000, UTC)
    when = f"{moment:%Y-%m-%d %H:%M:%S}.{moment.microsecond // 1000:03d}"
    document = _document(line.message)
    if document is None:
        return _join([when, label], line.message.rstrip("\n"))
    if "type" in document and "record" in document and "message" not in document:
        return _join([when, label, f"{'PLATFORM':<8}"], _platform(document))
    if isinstance(document.get("_aws"), dict) and "message" not in document:
        return _join([when, label, f"{'METRICS':<8}"], _metrics(document))
    level = _scalar(document.get("level") or "")
    message = document.get("message")
    text = message if isinstance(message, str) else json.dumps(message)
    traceback = document.get("exception")
    extra = traceback.rstrip("\n").split("\n") if isinstance(traceback, str) and traceback.strip() else []
    return _join([when, label, f"{level:<8}" if level else ""], text, _ids(document), extra)


def _document(message: str) -> dict[str, Any] | None:
    try:
        document = json.loads(message)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def _platform(document: dict[str, Any]) -> str:
    record = document.get("record")
    fields = record if isinstance(record, dict) else {}
    metrics = fields.get("metrics")
    shown = {**fields, **(metrics if isinstance(metrics, dict) else {})}
    parts = [f"{name}={_scalar(shown[name])}" for name in PLATFORM_FIELDS if name in shown]
    return " ".join([str(document.get("type")), *parts])


def _metrics(document: dict[str, Any]) -> str:
    """An embedded-metric-format record (Powertools Metrics): each metric's value, then the
    dimensions it was recorded with."""
    names: list[str] = []
    dimensions: list[str] = []
    directives = document["_aws"].get("CloudWatchMetrics")
    for directive in directives if isinstance(directives, list) else []:
        if not isinstance(directive, dict):
            continue
        names += [m["Name"] for m in directive.get("Metrics", []) if isinstance(m, dict) and "Name" in m]
        for group in directive.get("Dimensions", []):
            dimensions += [str(d) for d in group if isinstance(group, list) and str(d) not in dimensions]
    values = [f"{name}={_scalar(_one(document.get(name)))}" for name in dict.fromkeys(names)]
    keys = [f"{key}={_scalar(document[key])}" for key in dimensions if key in document and key != "service"]
    return " ".join(values) + (f"  [{' '.join(keys)}]" if keys else "")


def _one(value: Any) -> Any:
    """A metric's values: a list of one is that one."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _ids(document: dict[str, Any]) -> str:
    parts = [f"{label}={_scalar(document[key])}" for key, label in IDS if document.get(key) not in (None, "")]
    if "trace_id" not in document and isinstance(document.get("xray_trace_id"), str):
        parts.insert(len(parts) - ("function_request_id" in document), f"trace={document['xray_trace_id']}")
    return f"[{' '.join(parts)}]" if parts else ""


def _scalar(value: Any) -> str:
    """A field's value on the line itself: its own line breaks shown, not made."""
    text = value if isinstance(value, str) else json.dumps(value)
    return text.replace("\n", "\\n")


def _join(head: list[str], message: str, ids: str = "", extra: list[str] | None = None) -> str:
    first, *more = message.split("\n")
    text = " ".join(part for part in (*head, first) if part)
    lines = [f"{text}  {ids}" if ids else text]
    lines += [INDENT + part for part in [*more, *(extra or [])]]
    return "\n".join(escaped(text.rstrip("\r")) for text in lines)
