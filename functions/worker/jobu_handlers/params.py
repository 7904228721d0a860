"""The params base of handlers that declare every field they take (a params model)."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from jobu.handlers import HandlerParams


class StrictParams(HandlerParams):
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
