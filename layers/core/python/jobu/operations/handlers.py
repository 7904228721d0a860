"""The handlers the worker runs, as the admin surface knows them (the layer's handler manifest):
what a cron job may name, and the JSON Schema of each one's params where it declares one."""

from __future__ import annotations

from collections.abc import Set
from typing import Any

from pydantic import BaseModel, Field

from jobu.handler_manifest import params_schema


class HandlerInfo(BaseModel):
    name: str
    params_schema: dict[str, Any] | None = Field(
        description="the JSON Schema its params must satisfy; null when the handler declares none"
    )


def list_handlers(known_handlers: Set[str]) -> list[HandlerInfo]:
    return [HandlerInfo(name=name, params_schema=params_schema(name)) for name in sorted(known_handlers)]
