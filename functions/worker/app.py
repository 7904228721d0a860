"""Worker: invoked by the SQS work queue; reports partial batch failures."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import async_process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

import jobu_handlers  # noqa: F401  (registers the handlers this worker runs)
from jobu.access import DataAccess
from jobu.config import FunctionConfig
from jobu.lambda_runtime import Container, ContainerBatchProcessor
from jobu.models import WorkMessage
from jobu.observability import logger, metrics, tracer
from jobu.worker import Worker

ENVIRONMENT = FunctionConfig.ENVIRONMENT | DataAccess.ENVIRONMENT
REQUIRED_ENVIRONMENT = FunctionConfig.REQUIRED_ENVIRONMENT

container = Container()
processor = ContainerBatchProcessor(container)


async def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> str:
    """Raise only when the message could not be processed (it is then redelivered)."""
    message = WorkMessage.model_validate_json(record.body)
    worker = Worker(await container.store(), container.queue)
    remaining = lambda_context.get_remaining_time_in_millis() / 1000
    return await worker.process(message, remaining_seconds=remaining)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return async_process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
