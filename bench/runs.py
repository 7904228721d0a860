"""Runs as the queue dispatcher writes them (PENDING, attempt 0, not queued), for the benchmarks
that feed them to the worker, and the floor's handling of one (claim and outcome)."""

from __future__ import annotations

from datetime import UTC, datetime
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


async def claim_and_finish(
    connector: Any, execution_id: int, *, timeout_base: datetime, deadline_at: datetime
) -> None:
    """What a worker cannot do without for one run: claim it and write its outcome (each on a
    connection of `connector`'s pool), with the store's own queries and nothing else."""
    queries = connector.jobu_queries
    async with connector.connection() as conn:
        claimed = await queries.claim_execution(
            conn,
            id=execution_id,
            attempt=0,
            now=datetime.now(UTC),
            timeout_base=timeout_base,
            deadline_at=deadline_at,
        )
    assert claimed is not None
    async with connector.connection() as conn:
        await queries.finish_execution(
            conn,
            id=execution_id,
            attempt=0,
            status="SUCCESS",
            result={"action": "read", "success": True, "id": execution_id},
            error_message=None,
            now=datetime.now(UTC),
        )
