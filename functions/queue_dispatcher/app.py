"""Queue dispatcher: invoked by the MSK or self-managed Kafka event source mapping.

Only an unreachable database fails the invocation, so the mapping retries the batch (which is
safe: records are keyed by topic, partition and offset). A bad record, or a bad event, never does.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from jobu.clock import utcnow
from jobu.config import FunctionConfig
from jobu.event_dispatch import dispatch_event
from jobu.handler_manifest import known_handler_names
from jobu.lambda_runtime import Container
from jobu.observability import logger, metrics, traced

ENVIRONMENT = FunctionConfig.ENVIRONMENT
REQUIRED_ENVIRONMENT = FunctionConfig.REQUIRED_ENVIRONMENT

container = Container(FunctionConfig)


async def _dispatch(event: Any) -> dict[str, Any]:
    report = await dispatch_event(
        await container.store(), container.queue, event, known_handlers=known_handler_names(), now=utcnow()
    )
    logger.info(
        "batch done",
        extra={"records": report.records, "rejected": len(report.rejected), "duplicates": report.duplicates},
    )
    return report.as_json()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@traced
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # the event is read record by record in the core (jobu.kafka_records), never trusted whole
    container.prepare_sqs()  # a batch sends its runs; cold, the client is made meanwhile
    return container.run(_dispatch(event))
