"""Sample handlers, as the seed shipped them: an echo, CRUD on the sample_items table, and
sample9, which queries several databases at once; and sleep, which only waits (to see limits,
debounce and the worker's concurrency at work).

Params follow HandlerParams: action, id, name, value. sample9 reaches only databases operators
named (JOBU_LOAD_DATABASES, and "jobstore"), by name: never a URL or path from params.

The default pool's worker imports this module at cold start: the params are JSON Schemas, checked
by the worker (and at the edge) with fastjsonschema, not pydantic models.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jobu.access import JOB_STORE_DATABASE, database_name_schema
from jobu.handlers import BaseHandler, HandlerParams, HandlerResult, handler
from jobu.store import connector_for
from jobu_handlers.configured import data_access, resolve_database
from jobu_handlers.params import strict_schema

SQL_DIR = Path(__file__).with_name("sql")


@handler("sample")
class Sample(BaseHandler):
    """Echoes its params: the smallest useful job, for trying the system out."""

    async def execute(self, params: HandlerParams) -> HandlerResult:
        return HandlerResult(action=params.action, id=params.id, data=params.model_dump(mode="json"))


SLEEP_PARAMS = strict_schema(
    "SleepParams",
    "sleep: waits `seconds` (0-60) and succeeds.",
    seconds={
        "default": 1.0,
        "description": "how long the run waits, 0-60 s",
        "maximum": 60,
        "minimum": 0,
        "title": "Seconds",
        "type": "number",
    },
)


class SleepParams(HandlerParams):
    """What sleep reads (SLEEP_PARAMS checks it, and fills the default)."""

    seconds: float


@handler("sleep")
class Sleep(BaseHandler):
    """Waits `seconds` (0-60) and succeeds: a run that holds a slot for a known time, for seeing
    concurrency and rate limits, debounce and the worker's concurrency. It holds no connection
    while it waits, and an operator's cancel stops it (the worker cancels the task)."""

    params_schema = SLEEP_PARAMS
    params_model = SleepParams

    async def execute(self, params: SleepParams) -> HandlerResult:
        started = time.perf_counter()
        await asyncio.sleep(params.seconds)
        slept = round(time.perf_counter() - started, 3)
        return HandlerResult(
            action="sleep", data={"seconds": params.seconds, "name": params.name, "slept": slept}
        )


SAMPLE_ITEM_PARAMS = strict_schema(
    "SampleItemParams", "HandlerParams' own fields (action, id, name, value) and nothing else."
)


class SampleItemsHandler(BaseHandler):
    """Base of the handlers that work on sample_items through the job store's database."""

    params_schema = SAMPLE_ITEM_PARAMS

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


SAMPLE9_PARAMS = strict_schema(
    "Sample9Params",
    "sample9: each named database's version and a count over a generated series.",
    action={
        "default": "read",
        "description": "'sequential' runs the queries one after another; anything else, at once",
        "title": "Action",
        "type": "string",
    },
    databases={
        "default": [JOB_STORE_DATABASE],
        "description": "databases by the names operators gave them (JOBU_LOAD_DATABASES); "
        f"{JOB_STORE_DATABASE!r}: the job store's own",
        "items": database_name_schema(),
        "maxItems": 8,
        "minItems": 1,
        "title": "Databases",
        "type": "array",
    },
    series_rows={
        "default": 1000,
        "maximum": 1_000_000,
        "minimum": 1,
        "title": "Series Rows",
        "type": "integer",
    },
)


class Sample9Params(HandlerParams):
    """What sample9 reads (SAMPLE9_PARAMS checks them, and fills the defaults)."""

    databases: list[str]
    series_rows: int


@handler("sample9")
class QueryDatabases(BaseHandler):
    """Queries each named database concurrently (action 'sequential': one after another): its
    version and a count over a generated series. No table is read."""

    params_schema = SAMPLE9_PARAMS
    params_model = Sample9Params

    async def execute(self, params: Sample9Params) -> HandlerResult:
        options = params
        access = data_access(self)
        # every name is checked before any database is reached
        targets = [(name, access.database(name)) for name in options.databases]
        mode = "sequential" if options.action == "sequential" else "concurrent"
        started = time.perf_counter()
        if mode == "sequential":
            stats = [await self._probe(name, reference, options.series_rows) for name, reference in targets]
        else:
            probes = (self._probe(name, reference, options.series_rows) for name, reference in targets)
            stats = list(await asyncio.gather(*probes))
        elapsed_ms = round((time.perf_counter() - started) * 1000, 3)
        return HandlerResult(
            action=mode,
            count=len(stats),
            data={"databases": stats, "elapsed_ms": elapsed_ms},
            elapsed_ms=elapsed_ms,
        )

    async def _probe(self, name: str, reference: str | None, series_rows: int) -> dict[str, Any]:
        started = time.perf_counter()
        if reference is None:  # the job store's own: a connection of its pool
            database = self.context.database
            async with database.connection() as conn:
                row = dict(await database.queries(SQL_DIR).probe(conn, n=series_rows))
            backend = database.backend
        else:
            connector = connector_for(await resolve_database(reference), max_connections=1)
            await connector.open()
            try:
                async with connector.connection() as conn:
                    row = dict(await connector.queries(SQL_DIR).probe(conn, n=series_rows))
            finally:
                await connector.close()
            backend = connector.backend
        return {
            "database": name,
            "backend": backend,
            "version": str(row["version"]),
            "row_count": int(row["row_count"]),
            "elapsed_ms": round((time.perf_counter() - started) * 1000, 3),
        }
