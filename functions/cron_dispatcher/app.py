"""Cron dispatcher: invoked by the EventBridge Scheduler schedule (or a rule, or by hand with {})."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from jobu.clock import utcnow
from jobu.config import CronConfig
from jobu.cron_dispatch import refused_event, run_tick
from jobu.lambda_runtime import Container
from jobu.observability import logger, metrics, traced
from jobu.schedule_event import ScheduleEventRefusedError, tick_time

ENVIRONMENT = CronConfig.ENVIRONMENT
REQUIRED_ENVIRONMENT = CronConfig.REQUIRED_ENVIRONMENT

container = Container(CronConfig)


async def _tick(event: Any) -> dict[str, Any]:
    now = utcnow()
    try:
        tick = tick_time(event, now=now)
    except ScheduleEventRefusedError as error:
        return refused_event(error)
    store, policy = await container.store(), container.config.sweep_policy
    report = await run_tick(store, container.queue, tick_time=tick, now=now, policy=policy)
    logger.info(
        "tick done", extra={"dispatched": len(report.dispatched), "requeued": len(report.sweep.requeued)}
    )
    return report.model_dump(mode="json")


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@traced
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return container.run(_tick(event))
