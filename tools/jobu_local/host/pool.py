"""A function's execution environments, several at once, as Lambda scales a function.

Lambda runs each invocation in an execution environment that serves one invocation at a time, and
starts another environment when every existing one is busy, up to the function's concurrency
(ReservedConcurrentExecutions, else the account's, 1,000 by default). Each new environment starts
cold; a free one is reused warm. The pool does the same with FunctionProcess containers: a free
warm container first (the one used last, which Lambda also tends to reuse), else a new one while
fewer than `limit` exist, else the invocation waits for one to be free, as an event source mapping
waits out a throttle.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from jobu_local.host.config import FunctionDefinition, Invocation
from jobu_local.host.container import FunctionProcess
from jobu_local.host.logs import LogSink

# Lambda's default concurrency quota per account and region: a function without reserved
# concurrency may scale to it.
ACCOUNT_CONCURRENCY = 1000


class Container(Protocol):
    """An execution environment: a process of the local host, or Lambda's runtime interface emulator."""

    invocations: int
    cold_starts: int
    started_pids: list[int]

    async def invoke(self, event: dict[str, Any]) -> Invocation: ...

    async def stop(self) -> None: ...


NewContainer = Callable[[FunctionDefinition, LogSink, dict[str, str]], Container]


def process_container(config: FunctionDefinition, sink: LogSink, environment: dict[str, str]) -> Container:
    return FunctionProcess(config, sink, base_environment=environment)


def concurrency_limit(config: FunctionDefinition, cap: int | None = None) -> int:
    """How many containers the function may run at once: its reserved concurrency, else the
    account's; never more than `cap` (the runtime's --max-concurrency)."""
    limit = config.reserved_concurrency if config.reserved_concurrency is not None else ACCOUNT_CONCURRENCY
    return max(1, min(limit, cap) if cap is not None else limit)


@dataclass
class FunctionPool:
    config: FunctionDefinition
    sink: LogSink
    base_environment: dict[str, str] = field(default_factory=dict)
    limit: int = 1
    new_container: NewContainer = process_container
    containers: list[Container] = field(default_factory=list)
    _idle: list[Container] = field(default_factory=list)
    _slots: asyncio.Semaphore | None = None
    busy_peak: int = 0  # the most containers busy at once
    _busy: int = 0

    async def invoke(self, event: dict[str, Any]) -> Invocation:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit)
        async with self._slots:
            container = self._idle.pop() if self._idle else self._new()
            self._busy += 1
            self.busy_peak = max(self.busy_peak, self._busy)
            try:
                return await container.invoke(event)
            finally:
                self._busy -= 1
                self._idle.append(container)

    def _new(self) -> Container:
        container = self.new_container(self.config, self.sink, self.base_environment)
        self.containers.append(container)
        return container

    @property
    def invocations(self) -> int:
        return sum(container.invocations for container in self.containers)

    @property
    def cold_starts(self) -> int:
        return sum(container.cold_starts for container in self.containers)

    @property
    def pids(self) -> list[int]:
        """Every process the pool's containers started, running or not."""
        return [pid for container in self.containers for pid in container.started_pids]

    async def stop(self) -> None:
        for container in self.containers:
            with contextlib.suppress(Exception):
                await container.stop()
