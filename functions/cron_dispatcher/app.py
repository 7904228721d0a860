"""Cron dispatcher: invoked by the EventBridge Scheduler schedule (or a rule, or by hand with {})."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from jobu.clock import utcnow
from jobu.config import CronConfig
from jobu.cron_dispatch import continue_tick, refused_event, run_tick
from jobu.lambda_runtime import Container
from jobu.observability import logger, metrics, traced
from jobu.schedule_event import ScheduleEventRefusedError, tick_time

ENVIRONMENT = CronConfig.ENVIRONMENT
REQUIRED_ENVIRONMENT = CronConfig.REQUIRED_ENVIRONMENT

container = Container(CronConfig)


async def _tick(event: Any, context: LambdaContext) -> dict[str, Any]:
    now = utcnow()
    try:
        tick = tick_time(event, now=now)
    except ScheduleEventRefusedError as error:
        return refused_event(error)
    config = container.config
    report = await run_tick(
        await container.store(),
        container.queue,
        tick_time=tick,
        now=now,
        policy=config.sweep_policy,
        retry_policy=config.retry_policy,
        retention=config.retention,
        audit_retention=config.audit_retention,
        time_left=lambda: context.get_remaining_time_in_millis() / 1000,
    )
    if report.more_due:
        continue_tick(container.client("lambda"), context.invoked_function_arn, tick)
    logger.info(
        "tick done", extra={"dispatched": len(report.dispatched), "requeued": len(report.sweep.requeued)}
    )
    return report.as_json()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@traced
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    container.prepare_sqs()  # a tick sends its due runs; cold, the client is made meanwhile
    return container.run(_tick(event, context))
