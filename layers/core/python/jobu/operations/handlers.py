"""The handlers the workers run, as the admin surface knows them (the layer's handler manifest):
what a cron job may name, the pool that runs each, and the JSON Schema of each one's params where
it declares one."""

from __future__ import annotations

from collections.abc import Set
from typing import Any

from pydantic import BaseModel, Field

from jobu.handler_manifest import handler_pool, params_schema


class HandlerInfo(BaseModel):
    name: str
    pool: str = Field(description="the worker pool that runs it (its runs go to that pool's queue)")
    params_schema: dict[str, Any] | None = Field(
        description="the JSON Schema its params must satisfy; null when the handler declares none"
    )


def list_handlers(known_handlers: Set[str]) -> list[HandlerInfo]:
    return [
        HandlerInfo(name=name, pool=handler_pool(name), params_schema=params_schema(name))
        for name in sorted(known_handlers)
    ]
