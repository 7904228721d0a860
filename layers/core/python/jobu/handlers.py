"""The handler API: what a job is, and the registry that finds one by name.

@handler("sample")
class SampleHandler(BaseHandler):
    async def execute(self, params: HandlerParams) -> HandlerResult:
        return HandlerResult(action=params.action, data={"hello": params.name})

Nothing here imports pydantic: the default pool's worker imports this at every cold start, and
pydantic (its import and the first model it builds) was a third of that worker's start
(docs/performance.md). A handler declares what params it takes as a JSON Schema,
`params_schema`: `make manifest` records it, the dispatchers refuse bad params at the edge
(jobu.params_schema), and the worker checks every run's params against it again (fastjsonschema),
filling the schema's defaults. A handler may instead declare `params_model`, a pydantic model:
its module imports pydantic itself, the manifest records the model's JSON Schema, and the worker
validates the run's params into it (which also runs the model's own validators). Raise
NonRetryableError when the run cannot succeed however often it is tried. A handler that needs
another worker (more memory, a longer timeout, pandas) sets `pool = "pipeline"`: its runs go to
that pool's queue and worker (jobu.pools).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self
from uuid import UUID

from jobu.errors import NonRetryableError, RetryAfter, UnknownHandlerError
from jobu.limits import Limits
from jobu.pools import DEFAULT_POOL, check_pool_name

if TYPE_CHECKING:
    from jobu.access import DataAccess
    from jobu.models import Batch, Execution, NewExecution

__all__ = [
    "BASE_PARAMS_SCHEMA",
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

# The params every handler may read (HandlerParams' own fields); other keys are kept. A handler's
# `params_schema` usually starts from these properties.
BASE_PARAMS_PROPERTIES: dict[str, Any] = {
    "action": {"default": "read", "title": "Action", "type": "string"},
    "id": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None, "title": "Id"},
    "name": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None, "title": "Name"},
    "value": {"default": None, "title": "Value"},
}
BASE_PARAMS_SCHEMA: dict[str, Any] = {
    "additionalProperties": True,
    "description": "Parameters a handler receives (the execution's stored params). Extra keys are kept.",
    "properties": BASE_PARAMS_PROPERTIES,
    "title": "HandlerParams",
    "type": "object",
}


class _Fields:
    """Keyword fields read as attributes, with the class's declared defaults; extra keys kept.

    A key that would hide a method or a private attribute (`model_dump`, `_fields`: params are
    hostile) is kept in the dump and `get`, never as an attribute."""

    # the fields a subclass declares with a default (`seed: int = 0`), per class
    _DEFAULTS: ClassVar[dict[type, dict[str, Any]]] = {}
    # the names of each class's methods and properties: never set as attributes, per class
    _RESERVED: ClassVar[dict[type, frozenset[str]]] = {}

    def __init__(self, **fields: Any) -> None:
        self._fields = fields
        reserved = _Fields._RESERVED.get(type(self))
        if reserved is None:
            reserved = _Fields._reserved(type(self))
        attributes = self.__dict__
        for key, value in fields.items():
            if key not in reserved and not key.startswith("_"):
                attributes[key] = value

    @staticmethod
    def _reserved(kind: type) -> frozenset[str]:
        names = frozenset(
            name
            for name in dir(kind)
            if callable(getattr(kind, name, None)) or isinstance(getattr(kind, name, None), property)
        )
        _Fields._RESERVED[kind] = names
        return names

    def __getattr__(self, name: str) -> Any:  # only for names found nowhere else: extra keys
        fields = self.__dict__.get("_fields", {})
        if name in fields and not name.startswith("_"):
            return fields[name]
        raise AttributeError(f"{type(self).__name__!r} has no field {name!r}")

    @classmethod
    def _defaults(cls) -> dict[str, Any]:
        defaults = _Fields._DEFAULTS.get(cls)
        if defaults is None:
            defaults = {}
            for klass in reversed(cls.__mro__):
                for name in vars(klass).get("__annotations__", {}):
                    value = vars(klass).get(name, _MISSING)
                    if not name.startswith("_") and value is not _MISSING and not callable(value):
                        defaults[name] = value
            _Fields._DEFAULTS[cls] = defaults
        return defaults

    def get(self, key: str, default: Any = None) -> Any:
        return self._fields.get(key, self._defaults().get(key, default))

    def model_dump(self, *, mode: str = "python", exclude_unset: bool = False) -> dict[str, Any]:
        """The fields as a dict (named as pydantic's, which these classes were): the declared
        defaults and every key given; `exclude_unset`: only the keys given; mode "json": values
        JSON can hold (datetimes as ISO 8601 strings, decimals and UUIDs as strings, ...)."""
        dumped = dict(self._fields) if exclude_unset else self._defaults() | self._fields
        return _jsonable(dumped) if mode == "json" else dumped

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.model_dump() == other.model_dump()

    __hash__ = None  # type: ignore[assignment]  # mutable values inside, as a dict's

    def __repr__(self) -> str:
        fields = ", ".join(f"{key}={value!r}" for key, value in self.model_dump().items())
        return f"{type(self).__name__}({fields})"


_MISSING = object()


_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


def _jsonable(value: Any) -> Any:
    """`value` with what JSON cannot hold made into what pydantic's JSON mode makes of it."""
    kind = type(value)
    if kind in _JSON_SCALARS:  # most values: by their exact type, before any isinstance
        return value
    if kind is dict:
        return {key if type(key) is str else str(key): _jsonable(item) for key, item in value.items()}
    if kind is list:
        return [_jsonable(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(item) for item in value]
    return _jsonable_scalar(value)


def _jsonable_scalar(value: Any) -> Any:
    if isinstance(value, str | int | float | bool):  # a subclass (a StrEnum: JSON writes its value)
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Enum):
        return _jsonable(value.value)
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, Decimal | UUID | PurePath):
        return str(value)
    dump = getattr(value, "model_dump", None)  # a pydantic model in a result's data
    return dump(mode="json") if callable(dump) else value


class HandlerParams(_Fields):
    """Parameters a handler receives (the execution's stored params), as attributes; extra keys
    are kept (`params.input_path`, `params.get("input_path")`).

    A subclass may declare the fields it reads, with their defaults, for type checkers
    (`seed: int = 0`); the handler's `params_schema` is what checks them."""

    action: str = "read"
    id: int | None = None
    name: str | None = None
    value: Any = None

    @classmethod
    def model_validate(cls, data: Any) -> Self:
        """`data` (a dict) as params of this class; ValueError when HandlerParams' own fields
        have the wrong type (other keys are the handler's schema's business)."""
        if isinstance(data, cls):
            return data
        if not isinstance(data, Mapping):
            raise ValueError(f"params must be an object, not {type(data).__name__}")
        problem = base_params_problem(data)
        if problem is not None:
            raise ValueError(problem)
        return cls(**data)


def base_params_problem(params: Mapping[str, Any]) -> str | None:
    """Why `params` do not fit HandlerParams' own fields (BASE_PARAMS_SCHEMA), or None."""
    action, run_id, name = params.get("action", "read"), params.get("id"), params.get("name")
    if not isinstance(action, str):
        return "params.action must be string"
    if run_id is not None and (not isinstance(run_id, int) or isinstance(run_id, bool)):
        return "params.id must be integer or null"
    if name is not None and not isinstance(name, str):
        return "params.name must be string or null"
    return None


class HandlerResult(_Fields):
    """What a handler returns; stored as the execution's result JSON. Extra keys are kept
    (`HandlerResult(count=2, elapsed_ms=1.5)`); a subclass may declare them for type checkers."""

    action: str | None = None
    success: bool = True
    id: int | None = None
    count: int | None = None
    data: Any = None
    error: str | None = None

    @classmethod
    def model_validate(cls, value: Any) -> HandlerResult:
        """What a handler returned, as a HandlerResult: one, a dict of its fields, or a pydantic
        model of them; ValueError when it is none of these or its own fields have the wrong type."""
        if isinstance(value, HandlerResult):
            result = value
        elif isinstance(value, Mapping):
            result = HandlerResult(**value)
        elif callable(getattr(value, "model_dump", None)):
            result = HandlerResult(**value.model_dump(mode="json"))
        else:
            raise ValueError(f"a handler returns a HandlerResult, not {type(value).__name__}")
        problem = _result_problem(result)
        if problem is not None:
            raise ValueError(problem)
        return result


def _result_problem(result: HandlerResult) -> str | None:
    checks = (
        ("success", result.success, (bool,)),
        ("error", result.error, (str, type(None))),
        ("action", result.action, (str, type(None))),
        ("id", result.id, (int, type(None))),
        ("count", result.count, (int, type(None))),
    )
    for name, value, types in checks:
        if not isinstance(value, types) or (name in ("id", "count") and isinstance(value, bool)):
            named = " or ".join("null" if kind is type(None) else kind.__name__ for kind in types)
            return f"result.{name} must be {named}"
    return None


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

    async def create_batch(
        self,
        runs: Sequence[NewExecution],
        *,
        on_success: Mapping[str, Any] | None,
        on_complete: Mapping[str, Any] | None,
        created_by: str,
        now: datetime,
    ) -> tuple[Batch, list[Execution]]:
        """A batch of `runs` with its callbacks (docs/executions.md, *Batches*; each callback
        {"handler_name", "params", "max_retry", "timeout_seconds"}), PENDING and unsent: the worker
        sends them once they are committed (the tick's sweeper, runs written but not queued, if that
        send is lost). For a transactional handler, in the run's transaction: the batch exists once
        the run's SUCCESS is recorded, and never twice; its runs are sent after that commit."""
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
    # the JSON Schema of the params it takes (the manifest's, checked at the edge and by the
    # worker, which fills its defaults); None: HandlerParams' own fields, any other key
    params_schema: ClassVar[dict[str, Any] | None] = None
    # what the worker passes to execute(): HandlerParams or a subclass of it (fields declared for
    # type checkers), or a pydantic model the worker validates the params into, whose JSON
    # Schema is then the manifest's (the handler's module imports pydantic, not the worker)
    params_model: ClassVar[type[Any]] = HandlerParams
    # its concurrency and rate limits by default (jobu.limits); operators may replace them at run
    # time (PUT /api/limits/{name}); the manifest carries them to the functions that queue runs
    limits: ClassVar[Limits | None] = None

    def __init__(self, context: HandlerContext) -> None:
        self.context = context

    @abstractmethod
    async def execute(self, params: Any) -> HandlerResult:
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


def takes_model(cls: type[BaseHandler]) -> bool:
    """Whether the handler's params are validated into a pydantic model (not HandlerParams)."""
    return not issubclass(cls.params_model, HandlerParams)


def params_json_schema(cls: type[BaseHandler]) -> dict[str, Any] | None:
    """The JSON Schema of a handler's params: its `params_schema`, or its pydantic params model's;
    None when it takes HandlerParams' own fields and any other key."""
    if takes_model(cls):
        schema: dict[str, Any] = cls.params_model.model_json_schema(mode="validation")
        return schema
    return cls.params_schema
