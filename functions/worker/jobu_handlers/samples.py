"""Sample handlers, as the seed shipped them: an echo, CRUD on the sample_items table, and
sample9, which queries SQLite, PostgreSQL and MySQL at once.

Params follow HandlerParams: action, id, name, value.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from jobu.handlers import BaseHandler, HandlerParams, HandlerResult, handler
from jobu.store import connector_for

SQL_DIR = Path(__file__).with_name("sql")


@handler("sample")
class Sample(BaseHandler):
    """Echoes its params: the smallest useful job, for trying the system out."""

    async def execute(self, params: HandlerParams) -> HandlerResult:
        return HandlerResult(action=params.action, id=params.id, data=params.model_dump(mode="json"))


class SampleItemsHandler(BaseHandler):
    """Base of the handlers that work on sample_items through the job store's database."""

    def _queries(self) -> Any:
        return self.context.database.queries(SQL_DIR)

    def _now(self) -> Any:
        return self.context.database.encode_time(datetime.now(UTC))

    async def _get(self, conn: Any, item_id: int) -> dict[str, Any] | None:
        row = await self._queries().get_item(conn, id=item_id)
        return None if row is None else _jsonable(dict(row))


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def _require_id(params: HandlerParams) -> int:
    if params.id is None:
        raise ValueError(f"action {params.action!r} needs an id")
    return params.id


@handler("sample1")
class CreateSampleItem(SampleItemsHandler):
    """Inserts {name, value} into sample_items; returns the new id."""

    # the write commits with the run's SUCCESS or not at all: never twice for one run
    transactional = True

    async def execute(self, params: HandlerParams) -> HandlerResult:
        if not params.name:
            raise ValueError("sample1 needs a name")
        db = self.context.database
        async with db.connection() as conn:
            new_id = await self._queries().insert_item(
                conn, name=params.name, value=db.encode_json(params.value), now=self._now()
            )
        return HandlerResult(action="create", id=int(new_id), count=1)


@handler("sample2")
class ReadSampleItems(SampleItemsHandler):
    """Reads one item (id given) or lists up to `value` items (default 100)."""

    async def execute(self, params: HandlerParams) -> HandlerResult:
        async with self.context.database.connection() as conn:
            if params.id is not None:
                item = await self._get(conn, params.id)
                if item is None:
                    return HandlerResult(
                        action="read", id=params.id, count=0, success=False, error="no such item"
                    )
                return HandlerResult(action="read", id=params.id, count=1, data=item)
            limit = int(params.value) if params.value is not None else 100
            rows = [_jsonable(dict(r)) async for r in self._queries().list_items(conn, limit=limit)]
        return HandlerResult(action="list", count=len(rows), data=rows)


@handler("sample3")
class UpdateSampleItem(SampleItemsHandler):
    """Sets an item's value."""

    # the write commits with the run's SUCCESS or not at all: never twice for one run
    transactional = True

    async def execute(self, params: HandlerParams) -> HandlerResult:
        item_id = _require_id(params)
        db = self.context.database
        async with db.connection() as conn:
            changed = await self._queries().update_item(
                conn, id=item_id, value=db.encode_json(params.value), now=self._now()
            )
            item = await self._get(conn, item_id)
        if item is None:
            return HandlerResult(action="update", id=item_id, count=0, success=False, error="no such item")
        return HandlerResult(action="update", id=item_id, count=1 if changed else 0, data=item)


@handler("sample4")
class DeleteSampleItem(SampleItemsHandler):
    """Deletes an item; count says whether it existed."""

    # the write commits with the run's SUCCESS or not at all: never twice for one run
    transactional = True

    async def execute(self, params: HandlerParams) -> HandlerResult:
        item_id = _require_id(params)
        async with self.context.database.connection() as conn:
            existed = await self._get(conn, item_id) is not None
            await self._queries().delete_item(conn, id=item_id)
        return HandlerResult(action="delete", id=item_id, count=int(existed))


class Sample9Params(BaseModel):
    action: str = "read"  # 'sequential' runs the queries one after another; anything else, at once
    sqlite_url: str
    postgres_url: str
    mysql_url: str
    series_rows: int = 1000


@handler("sample9")
class QueryThreeDatabases(BaseHandler):
    """Queries SQLite, PostgreSQL and MySQL concurrently (action 'sequential': one after another)."""

    async def execute(self, params: HandlerParams) -> HandlerResult:
        options = Sample9Params.model_validate(params.model_dump())
        urls = [options.sqlite_url, options.postgres_url, options.mysql_url]
        mode = "sequential" if options.action == "sequential" else "concurrent"
        started = time.perf_counter()
        if mode == "sequential":
            stats = [await _probe(url, options.series_rows) for url in urls]
        else:
            stats = list(await asyncio.gather(*(_probe(url, options.series_rows) for url in urls)))
        elapsed_ms = round((time.perf_counter() - started) * 1000, 3)
        return HandlerResult(
            action=mode,
            count=len(stats),
            data={"databases": stats, "elapsed_ms": elapsed_ms},
            elapsed_ms=elapsed_ms,
        )


async def _probe(url: str, series_rows: int) -> dict[str, Any]:
    connector = connector_for(url)
    started = time.perf_counter()
    await connector.open()
    try:
        async with connector.connection() as conn:
            row = dict(await connector.queries(SQL_DIR).probe(conn, n=series_rows))
    finally:
        await connector.close()
    return {
        "backend": connector.backend,
        "version": str(row["version"]),
        "row_count": int(row["row_count"]),
        "elapsed_ms": round((time.perf_counter() - started) * 1000, 3),
    }
