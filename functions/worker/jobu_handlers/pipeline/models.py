"""Row models pydantic_validator checks rows against, registered in code by name.

    @validation_model("sale")
    class Sale(BaseModel):
        order_id: int
        ...

A step names its model in params (`"model": "sale"`); the valid rows it writes have exactly the
model's fields, typed as the model dumps them. Field types must have a Parquet column type
(see `arrow_type_name`): int, float, str, bool, Decimal, date, datetime, a Literal of str, or
one of these | None.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field

from jobu_handlers.pipeline.errors import PipelineError

_MODELS: dict[str, type[BaseModel]] = {}


def validation_model[M: type[BaseModel]](name: str) -> Callable[[M], M]:
    """Register a pydantic model under `name` for pydantic_validator."""

    def register(model: M) -> M:
        existing = _MODELS.get(name)
        if existing is not None and existing is not model:
            raise ValueError(f"validation model {name!r} is registered twice: {existing!r} and {model!r}")
        _MODELS[name] = model
        return model

    return register


def get_validation_model(name: str) -> type[BaseModel]:
    try:
        return _MODELS[name]
    except KeyError:
        known = ", ".join(sorted(_MODELS)) or "none"
        raise PipelineError(f"no validation model is registered as {name!r} (known: {known})") from None


def validation_model_names() -> frozenset[str]:
    return frozenset(_MODELS)


_SCALARS: dict[type, str] = {
    bool: "bool",  # before int: bool is an int subclass, and dicts keep insertion order
    int: "int64",
    float: "float64",
    str: "string",
    Decimal: "decimal",
    datetime: "datetime",  # before date, for the same reason
    date: "date",
}


def arrow_type_name(annotation: Any) -> tuple[str, bool]:
    """(column type name, nullable) for a field annotation; PipelineError when there is none."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return arrow_type_name(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(members) == 1:
            return arrow_type_name(members[0])[0], True
    if origin is Literal and all(isinstance(arg, str) for arg in get_args(annotation)):
        return "string", False
    if isinstance(annotation, type):
        for scalar, name in _SCALARS.items():
            if issubclass(annotation, scalar):
                return name, False
    raise PipelineError(f"field type {annotation!r} has no Parquet column type")


# Built-in models: the sample pipeline's (docs/pipeline.md, the tests and the benchmarks use it).


@validation_model("sale")
class Sale(BaseModel):
    """One line of a sales export."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    order_id: int = Field(gt=0)
    customer: str = Field(min_length=1, max_length=100)
    amount: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    ordered_at: datetime
    note: str | None = None
