"""What the admin routes run on, and where it comes from in the Lambda function.

Routes ask for `Services` with Powertools' Depends; the resolver is given one per request
(jobu.api.resolver.resolve). In Lambda it is LambdaServices over the container's pool and clients;
a local server or a test can give its own.
"""

from __future__ import annotations

from typing import Protocol

from aws_lambda_powertools.event_handler.request import Request

from jobu.config import AdminConfig
from jobu.dead_letter_queue import DeadLetterQueue
from jobu.handler_manifest import known_handler_names
from jobu.lambda_runtime import Container
from jobu.store import JobStore
from jobu.work_queue import WorkQueue


class Services(Protocol):
    """The store, the queues and the settings the admin operations need."""

    async def store(self) -> JobStore: ...

    @property
    def queue(self) -> WorkQueue: ...

    @property
    def dead_letters(self) -> DeadLetterQueue: ...

    @property
    def known_handlers(self) -> frozenset[str]: ...

    @property
    def worker_timeout_seconds(self) -> int: ...


class LambdaServices:
    """Services over a Lambda container: its pool, its SQS client, the environment's settings."""

    def __init__(self, container: Container[AdminConfig]) -> None:
        self._container = container

    @property
    def config(self) -> AdminConfig:
        return self._container.config

    async def store(self) -> JobStore:
        return await self._container.store()

    @property
    def queue(self) -> WorkQueue:
        return self._container.queue

    @property
    def dead_letters(self) -> DeadLetterQueue:
        return DeadLetterQueue(sqs_client=self._container.sqs, queue_url=self.config.dead_letter_queue_url)

    @property
    def known_handlers(self) -> frozenset[str]:
        return known_handler_names()

    @property
    def worker_timeout_seconds(self) -> int:
        return self.config.worker_timeout_seconds


def services(request: Request) -> Services:
    """The Depends() provider of the routes: the Services the resolver was given for this request."""
    provided: Services = request.context["services"]
    return provided
