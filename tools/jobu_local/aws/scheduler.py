"""EventBridge Scheduler: ticks at the template's rate, with the events Scheduler hands to Lambda.

With a target Input, the context attributes (`<aws.scheduler.scheduled-time>`, ...) are filled in;
with no Input, the EventBridge "Scheduled Event" envelope (source `aws.scheduler`).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jobu_local.aws.source import Invoker, Observer, quiet
from jobu_local.host.config import Invocation
from jobu_local.template.reader import ScheduleSource

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
SCHEDULER_CONTEXT_ATTRIBUTES = (
    "<aws.scheduler.schedule-arn>",
    "<aws.scheduler.scheduled-time>",
    "<aws.scheduler.execution-id>",
    "<aws.scheduler.attempt-number>",
)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def scheduler_event(
    *, schedule_arn: str, scheduled_time: datetime, region: str, account_id: str, input_template: str | None
) -> Any:
    """What EventBridge Scheduler delivers to a Lambda target for one scheduled time."""
    execution_id = str(uuid.uuid4())
    if input_template is not None:
        text = input_template
        for name, value in zip(
            SCHEDULER_CONTEXT_ATTRIBUTES,
            (schedule_arn, _iso(scheduled_time), execution_id, "0"),
            strict=True,
        ):
            text = text.replace(name, value)
        return json.loads(text)
    return {
        "version": "0",
        "id": execution_id,
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": account_id,
        "time": _iso(scheduled_time),
        "region": region,
        "resources": [schedule_arn],
        "detail": {},
    }


def rate_seconds(expression: str) -> float:
    """Seconds between ticks of an EventBridge `rate(...)` expression."""
    match = _RATE.match(expression.strip())
    if match is None:
        raise ValueError(f"only rate(...) schedule expressions run locally, not {expression!r}")
    count, unit = int(match.group(1)), match.group(2).rstrip("s")
    return float(count * _UNIT_SECONDS[unit])


@dataclass
class ScheduleRunner:
    source: ScheduleSource
    function: Invoker
    region: str
    account_id: str
    interval_seconds: float | None = None  # None: the template's rate
    observe: Observer = quiet

    @property
    def schedule_arn(self) -> str:
        return (
            f"arn:aws:scheduler:{self.region}:{self.account_id}:schedule/default/{self.source.schedule_name}"
        )

    async def tick(self, when: datetime | None = None) -> Invocation:
        scheduled = (when or datetime.now(UTC)).replace(microsecond=0)
        event = scheduler_event(
            schedule_arn=self.schedule_arn,
            scheduled_time=scheduled,
            region=self.region,
            account_id=self.account_id,
            input_template=self.source.input,
        )
        invocation = await self.function.invoke(event)
        self.observe(f"schedule {self.source.name}", invocation)
        return invocation

    async def run(self) -> None:
        interval = self.interval_seconds or rate_seconds(self.source.expression)
        next_tick = time.time() + interval
        while True:
            await asyncio.sleep(max(0.0, next_tick - time.time()))
            await self.tick(datetime.fromtimestamp(next_tick, UTC))
            next_tick += interval
            # a tick missed while the function ran long is skipped, as Scheduler does with no retries
            while next_tick < time.time():
                next_tick += interval
