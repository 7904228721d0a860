"""What the admin routes run on, and where it comes from in the Lambda function.

Routes ask for `Services` with Powertools' Depends; the resolver is given one per request
(jobu.api.resolver.resolve). In Lambda it is LambdaServices over the container's pool and clients;
a local server or a test can give its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from aws_lambda_powertools.event_handler.request import Request

from jobu.config import AdminConfig
from jobu.dead_letter_queue import DeadLetterQueue, SqsQueue
from jobu.errors import NotFoundError
from jobu.handler_manifest import known_handler_names
from jobu.lambda_runtime import Container
from jobu.pools import Pools
from jobu.store import JobStore
from jobu.work_queue import WorkQueue


class Services(Protocol):
    """The store, the queues and the settings the admin operations need."""

    async def store(self) -> JobStore: ...

    @property
    def queue(self) -> WorkQueue:
        """Where runs are sent: every pool's work queue (each run to its handler's pool's)."""
        ...

    @property
    def pools(self) -> Pools:
        """Every worker pool: its queues and its worker's Timeout (jobu.pools)."""
        ...

    @property
    def worker_timeouts(self) -> Mapping[str, int]:
        """Each pool's worker Timeout: the longest a run of its handlers may take."""
        ...

    def dead_letters(self, pool: str) -> DeadLetterQueue:
        """The pool's dead-letter queue; NotFoundError for a pool that does not exist."""
        ...

    def work_queue(self, pool: str) -> SqsQueue:
        """The pool's work queue, to read how deep it is; NotFoundError as above."""
        ...

    @property
    def known_handlers(self) -> frozenset[str]: ...


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
    def pools(self) -> Pools:
        return self.config.pools

    @property
    def worker_timeouts(self) -> Mapping[str, int]:
        return self.pools.worker_timeouts()

    def dead_letters(self, pool: str) -> DeadLetterQueue:
        return dead_letter_queue(self._container.sqs, self.pools, pool)

    def work_queue(self, pool: str) -> SqsQueue:
        return work_queue(self._container.sqs, self.pools, pool)

    @property
    def known_handlers(self) -> frozenset[str]:
        return known_handler_names()


def dead_letter_queue(sqs: Any, pools: Pools, pool: str) -> DeadLetterQueue:
    """A pool's dead-letter queue, over `sqs`."""
    url = pools[pool].dead_letter_queue_url
    if url is None:
        raise NotFoundError(f"pool {pool!r} has no dead-letter queue configured here")
    return DeadLetterQueue(sqs_client=sqs, queue_url=url, kind=f"dead-letter queue of pool {pool!r}")


def work_queue(sqs: Any, pools: Pools, pool: str) -> SqsQueue:
    """A pool's work queue (to read its depth), over `sqs`."""
    return SqsQueue(sqs_client=sqs, queue_url=pools[pool].queue_url, kind=f"work queue of pool {pool!r}")


def services(request: Request) -> Services:
    """The Depends() provider of the routes: the Services the resolver was given for this request."""
    provided: Services = request.context["services"]
    return provided
