"""Worker: invoked by the SQS work queue; reports partial batch failures."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import async_process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

import jobu_handlers  # noqa: F401  (registers the handlers this worker runs)
from jobu.access import DataAccess
from jobu.config import WorkerConfig
from jobu.dead_letter_queue import DeadLetterQueue
from jobu.lambda_runtime import Container
from jobu.observability import logger, metrics, traced
from jobu.sqs_batch import ContainerBatchProcessor
from jobu.worker import Outcome, Worker, parse_work_message

ENVIRONMENT = WorkerConfig.ENVIRONMENT | DataAccess.ENVIRONMENT
REQUIRED_ENVIRONMENT = WorkerConfig.REQUIRED_ENVIRONMENT

container = Container(WorkerConfig)
processor = ContainerBatchProcessor(container)


async def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> str:
    """Raise only when the message could not be processed now (it is then redelivered)."""
    message = parse_work_message(record.body)
    if isinstance(message, str):  # redelivering it could never help
        dead_letters = DeadLetterQueue(
            sqs_client=container.sqs, queue_url=container.config.dead_letter_queue_url
        )
        await dead_letters.keep(record.body, reason=message, message_id=record.message_id)
        return Outcome.DEAD_LETTERED
    worker = Worker(await container.store(), container.queue, container.config.retry_policy)
    return await worker.process(
        message, remaining_seconds=lambda_context.get_remaining_time_in_millis() / 1000
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@traced
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return async_process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
