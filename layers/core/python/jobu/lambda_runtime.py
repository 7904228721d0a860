"""What a Lambda container keeps between invocations: one event loop, the pool, the clients.

An asyncpg or asyncmy pool belongs to the loop that created it, so the loop must outlive the
invocation: `asyncio.run()` per invocation would throw the pool away on every warm start.
"""

from __future__ import annotations

import asyncio
import atexit
from collections.abc import Coroutine
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from jobu.config import FunctionConfig
from jobu.handler_manifest import manifest_pools
from jobu.store import JobStore, open_store
from jobu.work_queue import SEND_CONCURRENCY, WorkQueue

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

T = TypeVar("T")


def _make_sqs() -> SQSClient:
    import boto3
    from botocore.config import Config

    # a connection for each concurrent SendMessageBatch call of a large batch
    client: SQSClient = boto3.client(
        "sqs", config=Config(max_pool_connections=SEND_CONCURRENCY, retries={"mode": "standard"})
    )
    return client


class Container[C: FunctionConfig]:
    """Per-container state, created at module import of an entry point and reused while warm."""

    def __init__(self, config_type: type[C]) -> None:
        self.loop = asyncio.new_event_loop()
        atexit.register(self.close)
        self._config_type = config_type
        self._config: C | None = None
        self._store: JobStore | None = None
        self._store_lock = asyncio.Lock()  # a batch's records ask for the store at once
        self._sqs: SQSClient | None = None
        self._sqs_made: Future[SQSClient] | None = None
        self._clients: dict[str, Any] = {}

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    @property
    def config(self) -> C:
        if self._config is None:
            config = self._config_type.from_environ()
            assert isinstance(config, self._config_type)  # each config class builds its own kind
            # a function that could not send a run of some deployed handler refuses to start
            config.pools.check_covers(manifest_pools())
            self._config = config
        return self._config

    async def store(self) -> JobStore:
        if self._store is not None:  # warm: every record of a batch asks, none need wait on the lock
            return self._store
        async with self._store_lock:
            if self._store is None:
                # not cached until it opens: a database that was down is tried again next invocation
                setting = self.config.database
                self._store = await open_store(
                    await asyncio.to_thread(setting.resolve),
                    max_connections=self.config.pool_size,
                    refresh_url=None if setting.secret_arn is None else partial(setting.resolve, fresh=True),
                )
            return self._store

    @property
    def sqs(self) -> SQSClient:
        if self._sqs is None:
            self._sqs = self._sqs_made.result() if self._sqs_made is not None else _make_sqs()
        return self._sqs

    def prepare_sqs(self) -> None:
        """Start making the SQS client in a thread of its own, when a cold invocation is about to
        send: importing boto3 and loading the SQS model (CPU) then overlaps the invocation's
        database work (mostly waiting), instead of following it. A warm container has its client."""
        if self._sqs is None and self._sqs_made is None:
            self._sqs_made = ThreadPoolExecutor(1, thread_name_prefix="jobu-sqs-client").submit(_make_sqs)

    @property
    def queue(self) -> WorkQueue:
        """Every pool's work queue (each run goes to its handler's pool's).

        The client is made when a message is first sent: a worker whose runs succeed sends none,
        and importing boto3 and loading the SQS model is much of a cold start."""
        return WorkQueue(sqs_client=lambda: self.sqs, queue_urls=self.config.pools.queue_urls)

    def client(self, service: str) -> Any:
        """Another AWS client, made when first needed (the cron dispatcher's Lambda, to continue a tick)."""
        if service not in self._clients:
            import boto3

            self._clients[service] = boto3.client(service)  # type: ignore[call-overload]
        return self._clients[service]

    def reset(self) -> None:
        """Forget everything (tests, and the local runtime after a configuration change)."""
        if self._store is not None:
            self.run(self._store.close())
        if self._sqs_made is not None:
            self._sqs_made.result()  # a client being made is let finish, then forgotten
        self._config, self._store, self._sqs, self._sqs_made, self._clients = None, None, None, None, {}

    def close(self) -> None:
        """Release the pool and the loop (at interpreter exit; Lambda just freezes the container)."""
        self.reset()
        self.loop.close()
