"""The admin client: every route of the admin API, called over one of two transports.

`await client.call(route, **arguments)` takes the route function itself (e.g.
`jobu.api.routes.runs.list_runs`) and the arguments its request carries, by the function's own
parameter names (path, query and body alike). It answers the route's return type, parsed with the
same pydantic model the operation returned on the server (None for an empty answer). The request is
built from the resolver's route table: the method and path, which argument goes in the path, the
query (under its wire name, e.g. `max`) or the body. So a route added or changed in jobu.api needs
nothing here, and tests/unit/test_admin_client.py checks the table against the OpenAPI document.

The transport carries the request to the admin function: over HTTP (transports.HttpTransport), or
in this process to the same resolver and routes, on a database (transports.InProcessTransport).
Either answers with the API's status and body, and every answer that is not 2xx becomes the same
AdminError (errors.failure): a refusal reads the same on both targets by construction.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol, get_args, get_origin, get_type_hints, overload
from urllib.parse import quote, urlencode

from pydantic import BaseModel, TypeAdapter, ValidationError

from jobu_local.admin.errors import AdminError, failure

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import Response


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str  # percent-encoded
    query: str  # encoded, without "?"
    body: bytes | None  # JSON

    @property
    def target(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")


@dataclass(frozen=True)
class ApiAnswer:
    status: int
    body: bytes


class Transport(Protocol):
    """Carries a request to the admin function and brings back its answer."""

    async def send(self, request: ApiRequest) -> ApiAnswer: ...


@dataclass(frozen=True)
class ApiRoute:
    """One route of the admin API, as the resolver mounts it."""

    name: str  # the route function's
    method: str
    path: str  # with {name} for each path parameter
    path_params: tuple[str, ...]
    query_params: dict[str, str]  # argument name -> the query parameter's name
    body_param: str | None
    answer: Any  # the type the answer is parsed into; None for an empty answer (204)
    # argument name -> the prefix of the query parameters its {key: value} becomes (param.<key>)
    prefixed_query: dict[str, str] = field(default_factory=dict)

    def request(self, arguments: dict[str, Any]) -> ApiRequest:
        known = {
            *self.path_params,
            *self.query_params,
            *self.prefixed_query,
            *([self.body_param] if self.body_param else []),
        }
        if unknown := sorted(set(arguments) - known):
            raise TypeError(f"{self.name} takes {sorted(known)}, not {unknown}")
        if missing := [name for name in self.path_params if arguments.get(name) is None]:
            raise TypeError(f"{self.name} needs {missing}")
        path = self.path.format(**{name: quote(str(arguments[name]), safe="") for name in self.path_params})
        query = {
            wire: _query_text(arguments[name])
            for name, wire in self.query_params.items()
            if arguments.get(name) is not None
        }
        for name, prefix in self.prefixed_query.items():
            given = arguments.get(name) or {}
            query |= {f"{prefix}{key}": _query_text(value) for key, value in given.items()}
        # a list is a repeated parameter (?tag=a&tag=b)
        return ApiRequest(self.method, path, urlencode(query, doseq=True), self._body(arguments))

    def _body(self, arguments: dict[str, Any]) -> bytes | None:
        value = arguments.get(self.body_param) if self.body_param else None
        if value is None:
            return None
        if isinstance(value, dict):  # a route that checks its body itself (the enqueue API)
            return json.dumps(value).encode()
        if not isinstance(value, BaseModel):
            raise TypeError(f"{self.name}: the body must be a pydantic model, not {type(value).__name__}")
        return value.model_dump_json().encode()

    def parse(self, content: bytes) -> Any:
        if self.answer is None:
            return None
        return _adapter(self.answer).validate_json(content)


def _query_text(value: Any) -> str | list[str]:
    if isinstance(value, list | tuple):
        return [str(_query_text(item)) for item in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


@functools.cache
def _adapter(answer: Any) -> TypeAdapter[Any]:
    return TypeAdapter(answer)


@functools.cache
def api_routes() -> dict[Callable[..., Any], ApiRoute]:
    """The admin API's routes by route function, read from the resolver the function serves."""
    from aws_lambda_powertools.event_handler import Response

    from jobu.api.parameters import PREFIXED_QUERIES
    from jobu.api.resolver import create_resolver

    resolver: Any = create_resolver()
    routes: dict[Callable[..., Any], ApiRoute] = {}
    for route in [*resolver._static_routes, *resolver._dynamic_routes]:  # Powertools' route table
        dependant = route.dependant
        answer = get_type_hints(route.func).get("return")
        if answer is Response:
            answer = None
        elif get_origin(answer) is Response:  # Response[T]: a status chosen by the route, a T answered
            (carried,) = get_args(answer)
            answer = None if carried is type(None) else carried
        body = [param.name for param in dependant.body_params]
        routes[route.func] = ApiRoute(
            name=route.func.__name__,
            method=route.method.upper(),
            path=route.path.replace("<", "{").replace(">", "}"),
            path_params=tuple(param.name for param in dependant.path_params),
            query_params={param.name: param.alias for param in dependant.query_params},
            body_param=body[0] if body else None,
            answer=answer,
            prefixed_query={
                d.param_name: PREFIXED_QUERIES[d.depends.dependency]
                for d in dependant.dependencies
                if d.depends.dependency in PREFIXED_QUERIES
            },
        )
    return routes


class AdminClient:
    """The admin API's routes over `transport`."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    @overload
    async def call(self, route: Callable[..., Awaitable[Response[Any]]], /, **arguments: Any) -> None: ...

    @overload
    async def call[T](self, route: Callable[..., Awaitable[T]], /, **arguments: Any) -> T: ...

    async def call(self, route: Callable[..., Awaitable[Any]], /, **arguments: Any) -> Any:
        api = api_routes().get(route)
        if api is None:
            raise TypeError(f"{getattr(route, '__name__', route)!r} is not a route of the admin API")
        request = api.request(arguments)
        answer = await self.transport.send(request)
        if not 200 <= answer.status < 300:
            raise failure(answer.status, answer.body)
        try:
            return api.parse(answer.body)
        except ValidationError as error:
            raise AdminError(
                answer.status,
                "unexpected_answer",
                f"{request.method} {request.target} answered what {api.answer} does not read "
                f"({error.error_count()} problem(s)): is this jobu as new as the API it calls?",
            ) from error
