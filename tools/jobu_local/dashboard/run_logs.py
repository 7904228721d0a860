"""A run's log lines for the dashboard, read like `jobu logs --execution-id N --with-requests`, and on
AWS a link to CloudWatch Logs Insights for the same run."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from jobu_local.aws.cloudwatch.reader import LogReader
from jobu_local.aws.endpoint import AwsTarget

# a run's lines fall between its creation and its end; the margins cover clocks and log delivery
BEFORE = timedelta(minutes=1)
AFTER = timedelta(minutes=5)
MAX_LINES = 2000


@dataclass(frozen=True)
class RunLogSource:
    """Where the functions' logs are: an AWS target and {log group: function label}."""

    target: AwsTarget
    log_groups: dict[str, str] = field(default_factory=dict)
    # the embedded emulator's logs are kept on disk from this moment (aws/cloudwatch/journal.py):
    # lines written before it are gone for good; None where that is not known (AWS, LocalStack)
    kept_since_ms: int | None = None

    def lines(self, execution_id: int, start: datetime, end: datetime | None) -> dict[str, Any]:
        """{"lines": [...], "truncated": bool, "insights_url": str | None, "gone": str | None} for one
        run; `gone` says which of its lines are lost for good, when some are."""
        reader = LogReader(self.target, list(self.log_groups), f"{{ $.execution_id = {execution_id} }}")
        start_ms = int((start - BEFORE).timestamp() * 1000)
        end_ms = None if end is None else int((end + AFTER).timestamp() * 1000)
        found = reader.with_request_lines(reader.read(start_ms, end_ms), start_ms, end_ms)
        lines = [
            {
                "timestamp": line.timestamp_ms,
                "function": self.log_groups.get(line.log_group, line.log_group),
                "log_stream": line.log_stream,
                "message": line.message.rstrip("\n"),
            }
            for line in found[:MAX_LINES]
        ]
        return {
            "lines": lines,
            "truncated": len(found) > MAX_LINES,
            "insights_url": self.insights_url(execution_id, start - BEFORE, (end or start) + AFTER),
            "gone": self.gone(start),
        }

    def gone(self, start: datetime) -> str | None:
        """What the page says when the run began before the emulator kept its logs on disk."""
        if self.kept_since_ms is None or start.timestamp() * 1000 >= self.kept_since_ms:
            return None
        since = datetime.fromtimestamp(self.kept_since_ms / 1000, UTC)
        return (
            f"Log lines written before {since:%Y-%m-%d %H:%M:%S} UTC are gone: the local runtime keeps "
            "them on disk from then on, and this run began earlier."
        )

    def insights_url(self, execution_id: int, start: datetime, end: datetime) -> str | None:
        """The CloudWatch console's Logs Insights page with this run's query, on AWS only."""
        if self.target.emulator != "aws" or not self.log_groups:
            return None
        region = self.target.region
        query = (
            "fields @timestamp, @log, level, message\n"
            f"| filter execution_id = {execution_id}\n"
            "| sort @timestamp asc"
        )
        detail = (
            f"~(end~'{_console(end.isoformat())}~start~'{_console(start.isoformat())}~timeType~'ABSOLUTE"
            f"~tz~'UTC~editorString~'{_console(query)}~source~("
            + "".join(f"~'{_console(group)}" for group in self.log_groups)
            + "))"
        )
        return (
            f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
            f"#logsV2:logs-insights$3FqueryDetail$3D{detail}"
        )


def _console(text: str) -> str:
    """A value inside the console's queryDetail: each byte but letters, digits and `_.-` as *XX."""
    return "".join(
        chr(byte) if chr(byte).isalnum() or chr(byte) in "_.-" else f"*{byte:02x}"
        for byte in text.encode("utf-8")
    )
