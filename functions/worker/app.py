"""Worker: invoked by its pool's SQS work queue; reports partial batch failures.

Every pool's worker function is this code (template.yaml): JOBU_WORKER_POOL says which pool's
handlers it runs, and only those are imported, here at init.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import async_process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from jobu import constants
from jobu.config import WorkerConfig, worker_pool
from jobu.dead_letter_queue import DeadLetterQueue
from jobu.handler_manifest import import_pool_handlers
from jobu.lambda_runtime import Container
from jobu.observability import logger, metrics, traced
from jobu.sqs_batch import ContainerBatchProcessor
from jobu.worker import Outcome, Worker, parse_work_message

# what handlers may touch (jobu.access), read by the handlers that touch it (sample9; the pipeline)
ENVIRONMENT = WorkerConfig.ENVIRONMENT | constants.DATA_ACCESS_SETTINGS
REQUIRED_ENVIRONMENT = WorkerConfig.REQUIRED_ENVIRONMENT

import_pool_handlers(worker_pool())  # in Lambda's init phase, not the first invocation's
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
    config = container.config
    worker = Worker(await container.store(), container.queue, config.retry_policy, pool=config.pool)
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
