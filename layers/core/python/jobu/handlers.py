"""The handler API: what a job is, and the registry that finds one by name.

@handler("sample")
class SampleHandler(BaseHandler):
    async def execute(self, params: HandlerParams) -> HandlerResult:
        return HandlerResult(action=params.action, data={"hello": params.name})

A handler may declare `params_model`, a HandlerParams subclass: the worker validates the run's
params into it before execute(), and its JSON Schema goes into the handler manifest, so the
dispatchers refuse bad params at the edge (jobu.params_schema). Raise NonRetryableError when
the run cannot succeed however often it is tried. A handler that needs another worker (more
memory, a longer timeout, pandas) sets `pool = "pipeline"`: its runs go to that pool's queue and
worker (jobu.pools).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

from jobu.errors import NonRetryableError, RetryAfter, UnknownHandlerError
from jobu.limits import Limits
from jobu.pools import DEFAULT_POOL, check_pool_name

if TYPE_CHECKING:
    from jobu.access import DataAccess

__all__ = [
    "BaseHandler",
    "Database",
    "HandlerContext",
    "HandlerParams",
    "HandlerResult",
    "NonRetryableError",
    "RetryAfter",
    "get_handler",
    "handler",
    "registered_handler_names",
]


class HandlerParams(BaseModel):
    """Parameters a handler receives (the execution's stored params). Extra keys are kept.

    Every params model is built when it first validates (defer_build, inherited): a worker imports
    its pool's handler modules at init, and builds only the models of the handlers it runs."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    action: str = "read"
    id: int | None = None
    name: str | None = None
    value: Any = None


class HandlerResult(BaseModel):
    """What a handler returns; stored as the execution's result JSON. Extra keys are kept."""

    model_config = ConfigDict(extra="allow")

    action: str | None = None
    success: bool = True
    id: int | None = None
    count: int | None = None
    data: Any = None
    error: str | None = None


class Database(Protocol):
    """The job store's database, lent to handlers that keep tables of their own.

    `queries(sql_dir)` loads `sql_dir/common/*.sql` and `sql_dir/<backend>/*.sql` with aiosql;
    `connection()` lends a pooled driver connection to pass to those queries.
    """

    @property
    def backend(self) -> str:
        """'postgres', 'mysql' or 'sqlite'."""
        ...

    @property
    def url(self) -> str:
        """The database URL (postgresql://, mysql://, sqlite:///)."""
        ...

    def queries(self, sql_dir: Path) -> Any: ...

    def connection(self) -> Any: ...

    def encode_json(self, value: Any) -> Any:
        """A JSON value as this driver wants it bound."""
        ...

    def encode_time(self, value: datetime | None) -> Any:
        """A datetime as this driver wants it bound."""
        ...


@dataclass(frozen=True)
class HandlerContext:
    """What the worker tells a handler about the run it is part of.

    `idempotency_key` is the same for every delivery and every retry of this run, and differs
    between runs (even between two job stores): pass it to other services, or to Powertools
    Idempotency, so an effect outside the database happens once per run (docs/handlers.md).
    """

    execution_id: int
    job_id: int | None
    handler_name: str
    retry_count: int
    database: Database
    idempotency_key: str
    # what operators allow handlers to touch (jobu.access); None: read from the environment
    access: DataAccess | None = None
    # the W3C traceparent to send onwards (a span of this run in the producer's trace), when the
    # run's Kafka record carried one (jobu.traces)
    trace_parent: str | None = None


class BaseHandler(ABC):
    """Subclass, decorate with @handler("name"), implement execute().

    A handler whose class sets `transactional = True` gets, from `self.context.database
    .connection()`, the connection of one transaction that also records the run's SUCCESS: its
    writes to the job store's database commit with that, or not at all (a failure, a timeout, a
    dead container or a dropped connection leaves neither), so a retried run starts clean.
    """

    name: str = ""
    transactional: ClassVar[bool] = False
    # the worker pool that runs it (jobu.pools): the pool's worker function, with its memory,
    # timeout, concurrency and layers; every run of this handler is sent to that pool's queue
    pool: ClassVar[str] = DEFAULT_POOL
    # the model the worker validates params into (and the manifest's params schema, when it is
    # a subclass: plain HandlerParams takes any object, so it is not checked at the edge)
    params_model: ClassVar[type[HandlerParams]] = HandlerParams
    # its concurrency and rate limits by default (jobu.limits); operators may replace them at run
    # time (PUT /api/limits/{name}); the manifest carries them to the functions that queue runs
    limits: ClassVar[Limits | None] = None

    def __init__(self, context: HandlerContext) -> None:
        self.context = context

    @abstractmethod
    async def execute(self, params: HandlerParams) -> HandlerResult:
        """Run the job. Raise to fail the run (it is retried while retries are left); raise
        NonRetryableError to fail it at once."""


_REGISTRY: dict[str, type[BaseHandler]] = {}


def handler(name: str, *, limits: Limits | None = None) -> Callable[[type[BaseHandler]], type[BaseHandler]]:
    """Register a BaseHandler subclass under `name`, with its default `limits` (or its class's)."""

    def register(cls: type[BaseHandler]) -> type[BaseHandler]:
        if not (isinstance(cls, type) and issubclass(cls, BaseHandler)):
            raise TypeError(f"@handler({name!r}) must decorate a BaseHandler subclass, not {cls!r}")
        check_pool_name(cls.pool)
        existing = _REGISTRY.get(name)
        if existing is not None and existing is not cls:
            raise ValueError(f"handler {name!r} is registered twice: {existing!r} and {cls!r}")
        cls.name = name
        if limits is not None:
            cls.limits = limits
        _REGISTRY[name] = cls
        return cls

    return register


def get_handler(name: str) -> type[BaseHandler]:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownHandlerError(f"no handler is registered under {name!r}") from None


def registered_handler_names() -> frozenset[str]:
    return frozenset(_REGISTRY)


def params_json_schema(cls: type[BaseHandler]) -> dict[str, Any] | None:
    """The JSON Schema of a handler's own params model; None when it takes plain HandlerParams."""
    if cls.params_model is HandlerParams:
        return None
    return cls.params_model.model_json_schema(mode="validation")
