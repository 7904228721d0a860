"""Queue dispatcher: invoked by the MSK or self-managed Kafka event source mapping.

A failure to reach the database fails the invocation, so the mapping retries the batch (which
is safe: records are keyed by topic, partition and offset). Bad records never fail it.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import KafkaEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from jobu.clock import utcnow
from jobu.config import FunctionConfig
from jobu.event_dispatch import dispatch_records
from jobu.handler_manifest import known_handler_names
from jobu.lambda_runtime import Container
from jobu.observability import logger, metrics, tracer

ENVIRONMENT = FunctionConfig.ENVIRONMENT
REQUIRED_ENVIRONMENT = FunctionConfig.REQUIRED_ENVIRONMENT

container = Container()


async def _dispatch(event: KafkaEvent) -> dict[str, Any]:
    report = await dispatch_records(
        await container.store(),
        container.queue,
        list(event.records),
        known_handlers=known_handler_names(),
        now=utcnow(),
    )
    logger.info("batch done", extra={"records": report.records, "rejected": len(report.rejected)})
    return report.model_dump(mode="json")


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
@event_source(data_class=KafkaEvent)
def handler(event: KafkaEvent, context: LambdaContext) -> dict[str, Any]:
    return container.run(_dispatch(event))
