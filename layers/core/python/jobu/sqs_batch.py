"""The worker's SQS batches: Powertools' async batch processor on the container's event loop.

Apart from jobu.lambda_runtime so that only the worker imports Powertools' batch utilities.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.base import FailureResponse
from aws_lambda_powertools.utilities.batch.exceptions import ExceptionInfo

from jobu.lambda_runtime import Container
from jobu.observability import logger


class ContainerBatchProcessor(AsyncBatchProcessor):
    """Powertools' async SQS batch processor, run on the container's long-lived loop.

    Powertools runs async record handlers with asyncio.run() outside Lambda and on the thread's
    default loop inside it; jobu's pools live on the container's own loop, so use that one.
    """

    def __init__(self, container: Container[Any]) -> None:
        super().__init__(EventType.SQS, raise_on_entire_batch_failure=False)
        self._container = container

    def failure_handler(self, record: Any, exception: ExceptionInfo) -> FailureResponse:
        """Say at WARNING why a message goes back to the queue (Powertools says it at DEBUG)."""
        logger.warning(
            "message returned to the queue for redelivery",
            extra={
                "message_id": record.get("messageId"),
                "reason": f"{exception[0].__name__ if exception[0] else 'Error'}: {exception[1]}",
            },
        )
        return super().failure_handler(record, exception)

    def async_process(self) -> list[tuple[Any, ...]]:
        async def process_all() -> list[tuple[Any, ...]]:
            return list(
                await asyncio.gather(*[self._async_process_record(record) for record in self.records])
            )

        return self._container.run(process_all())
