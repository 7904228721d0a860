"""The params base of handlers whose params are a pydantic model (the pipeline pool's): pydantic is
imported by the modules that declare such models, never by the default pool's worker."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ModelParams(BaseModel):
    """HandlerParams' fields as a pydantic model; extra keys are kept.

    Built when it first validates (defer_build, inherited): a worker imports its pool's handler
    modules at init, and builds only the models of the handlers it runs."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    action: str = "read"
    id: int | None = None
    name: str | None = None
    value: Any = None


class StrictParams(ModelParams):
    """HandlerParams' optional fields, `on_success`, `on_failure` (and `failed_run`, which the
    worker puts in an on_failure run's params), and nothing unknown: a typo, or a key meant to
    reach something (`database_url`), is refused at the edge and by the worker."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    on_success: dict[str, Any] | None = Field(
        default=None, description="the next run ({handler_name, params}); run by the worker"
    )
    on_failure: dict[str, Any] | None = Field(
        default=None,
        description="the run to make when this one ends FAILED or TIMEOUT for good ({handler_name, params})",
    )
    failed_run: dict[str, Any] | None = Field(
        default=None,
        description="in an on_failure run: the run that failed ({id, handler_name, status, error_message})",
    )
