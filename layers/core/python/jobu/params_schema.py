"""Params checked at the edge: against the JSON Schema a handler's params model publishes.

The dispatchers and the cron job API call `params_problem` before a run exists, so a record or
a cron job with params its handler would refuse is turned away with the reason, instead of
becoming a run that fails later. The schemas come from the handler manifest
(jobu/handler_manifest.json), so nothing here imports a handler. Validators are compiled with
fastjsonschema once per schema and container (Powertools' validation utility compiles on every
call, too slow for a 10,000-record Kafka batch).

The worker checks a run's params again (`run_params_problem`), against the handler's own schema,
filling its defaults; a handler whose params are a pydantic model is validated with the model
itself instead, which also runs the model's own validators (JSON Schema cannot say "output_path
must differ from input_path").
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from jobu.handler_manifest import known_handler_names, params_schema

# `on_success` and `on_failure` chains (docs/pipeline.md) are checked link by link, this many at most.
MAX_CHAIN_LENGTH = 10
FOLLOW_UP_KEYS = ("on_success", "on_failure")

Validator = Callable[[Any], Any]


@cache
def _validator(handler_name: str, partial: bool) -> Validator | None:
    schema = params_schema(handler_name)
    if schema is None:
        return None
    import fastjsonschema  # type: ignore[import-untyped, unused-ignore]

    if partial:
        schema = {key: value for key, value in schema.items() if key != "required"}
    # use_default=False: validating must never fill defaults into the caller's params
    compiled: Validator = fastjsonschema.compile(schema, use_default=False)
    return compiled


def _schema_problem(handler_name: str, params: Mapping[str, Any], partial: bool) -> str | None:
    validate = _validator(handler_name, partial)
    if validate is None:
        return None
    problem = _refusal(validate, dict(params))
    return None if problem is None else f"params for {handler_name!r} refused: {problem}"


def _refusal(validate: Validator, params: dict[str, Any]) -> str | None:
    """fastjsonschema's reason, naming the field as `params.x`; None when `params` pass."""
    from fastjsonschema import JsonSchemaValueException

    try:
        validate(params)
    except JsonSchemaValueException as error:
        where = str(error.name).replace("data", "params", 1)
        return str(error.message).replace(str(error.name), where, 1)
    return None


# a handler class's schema, compiled to fill its defaults (the worker's), once per container
_FILLING: dict[int, tuple[dict[str, Any], Validator]] = {}


def run_params(schema: dict[str, Any], params: Mapping[str, Any]) -> dict[str, Any] | str:
    """A run's params checked against `schema` (a handler's own), with the schema's defaults
    filled in (into a copy); or why they do not fit."""
    compiled = _FILLING.get(id(schema))
    if compiled is None or compiled[0] is not schema:
        import fastjsonschema

        compiled = (schema, fastjsonschema.compile(schema, use_default=True))
        _FILLING[id(schema)] = compiled
    filled = copy.deepcopy(dict(params))
    problem = _refusal(compiled[1], filled)
    return filled if problem is None else problem


def _follow_up_problem(key: str, follow_up: Any, depth: int) -> str | None:
    if not isinstance(follow_up, dict):
        return f"{key} must be an object {{handler_name, params}}"
    name = follow_up.get("handler_name")
    if not isinstance(name, str) or name not in known_handler_names():
        return f"{key} names unknown handler {json.dumps(name)}"
    params = follow_up.get("params", {})
    if not isinstance(params, dict):
        return f"{key} params for {name!r} must be an object"
    if depth + 1 > MAX_CHAIN_LENGTH:
        return f"{key} chains more than {MAX_CHAIN_LENGTH} runs"
    return _problem(name, params, partial=False, depth=depth + 1)


def _problem(handler_name: str, params: Mapping[str, Any], *, partial: bool, depth: int) -> str | None:
    problem = _schema_problem(handler_name, params, partial)
    for key in FOLLOW_UP_KEYS:
        if problem is None and params.get(key) is not None:
            problem = _follow_up_problem(key, params[key], depth)
    return problem


def params_problem(handler_name: str, params: Mapping[str, Any], *, partial: bool = False) -> str | None:
    """Why `params` cannot be the params of a `handler_name` run, or None when they can.

    `partial`: the params will be merged over a cron job's (the event path), so fields the
    schema requires may come from there; everything present is still checked. Follow-up runs
    (`on_success`, `on_failure`) are checked in full, each against its own handler's schema.
    """
    return _problem(handler_name, params, partial=partial, depth=0)
