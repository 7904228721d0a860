"""Liveness and readiness, as the original jobu answered them (/health, /ready)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from jobu.store import JobStore


class Health(BaseModel):
    status: Literal["healthy"] = "healthy"


class Readiness(BaseModel):
    status: Literal["ready"] = "ready"
    database: Literal["ok"] = "ok"
    backend: str


async def ready(store: JobStore) -> Readiness:
    """A round trip to the database; StoreUnavailableError when it does not answer."""
    await store.ping()
    return Readiness(backend=store.backend)
