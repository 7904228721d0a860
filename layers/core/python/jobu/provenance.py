"""Where each of a run's params came from, when they were merged from more than one place.

A run's params are shallow-merged: the cron job's handler_params are the base and the run's own
params (the Kafka event's, or an operator's overrides) win key by key. The origin of every
top-level key is kept with the run (job_executions.params_provenance), so an operator can tell a
value the job always sends from one the event or the override chose. NULL there means every key
came from the run's param_source: nothing was merged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

# The run's param_source values, plus "cron": a key taken from the cron job's handler_params.
ParamOrigin = Literal["cron", "event", "manual", "backfill", "api"]


def merge_params(
    base: Mapping[str, Any], overrides: Mapping[str, Any], *, source: ParamOrigin
) -> tuple[dict[str, Any], dict[str, ParamOrigin] | None]:
    """The merged params and each key's origin (None when every key comes from `source`)."""
    params = {**base, **overrides}
    if set(base) <= set(overrides):
        return params, None
    return params, {key: source if key in overrides else "cron" for key in params}


def origins(
    params: Mapping[str, Any], stored: Mapping[str, Any] | None, param_source: ParamOrigin
) -> dict[str, ParamOrigin]:
    """Every key's origin for display: the stored map, or `param_source` for each key when none."""
    if stored is None:
        return dict.fromkeys(params, param_source)
    return {key: stored.get(key, param_source) for key in params}
