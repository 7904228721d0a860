"""Runs as the queue dispatcher writes them (PENDING, attempt 0, not queued), for the benchmarks
that feed them to the worker."""

from __future__ import annotations

from typing import Any

from jobu.models import NewExecution


def sample_run(offset: int, topic: str, params: dict[str, Any] | None = None) -> NewExecution:
    """An event run of the `sample` handler, keyed by (topic, 0, offset)."""
    return NewExecution(
        job_id=None,
        handler_name="sample",
        params={"id": offset} if params is None else params,
        param_source="event",
        max_retry=0,
        timeout_seconds=300,
        source_topic=topic,
        source_partition=0,
        source_offset=offset,
    )
