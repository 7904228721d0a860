"""Running a pipeline step outside the worker: for tests, benchmarks and one-off runs.

    result = await run_step("pandas_preprocess", {"input_path": ..., "output_path": ...})

The step gets a HandlerContext whose database is known by URL only (what db_loader needs);
nothing here touches the job store. What the step may touch (jobu.access) is `access` when
given, else the environment's, as in the worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jobu.access import DataAccess
from jobu.handlers import HandlerContext, HandlerParams, HandlerResult, get_handler

_BACKENDS = {"postgresql": "postgres", "postgres": "postgres", "mysql": "mysql", "mariadb": "mysql"}


@dataclass(frozen=True)
class UrlDatabase:
    """A `Database` that has a URL and nothing else (no pool, no queries)."""

    url: str

    @property
    def backend(self) -> str:
        scheme = urlsplit(self.url).scheme
        return _BACKENDS.get(scheme, scheme)

    def queries(self, sql_dir: Path) -> Any:
        raise NotImplementedError("UrlDatabase has no job store queries")

    def connection(self) -> Any:
        raise NotImplementedError("UrlDatabase has no connection pool")

    def encode_json(self, value: Any) -> Any:
        raise NotImplementedError("UrlDatabase has no driver to encode for")

    def encode_time(self, value: datetime | None) -> Any:
        raise NotImplementedError("UrlDatabase has no driver to encode for")


def allow(data_root: Path, tables: tuple[str, ...] = ()) -> DataAccess:
    """What a benchmark or one-off run lets a step touch: files under `data_root`, and these
    tables of the job store's database (`database_url`); no S3, no other database."""
    from jobu import constants

    return DataAccess.from_environ(
        {
            constants.DATA_ROOT: str(data_root),
            constants.DATA_S3_LOCATIONS: "",
            constants.LOAD_DATABASES: "",
            constants.LOAD_TABLES: ",".join(f"jobstore:{table}" for table in tables),
        }
    )


def handler_context(
    handler_name: str, database_url: str = "sqlite:///:memory:", access: DataAccess | None = None
) -> HandlerContext:
    return HandlerContext(
        execution_id=0,
        job_id=None,
        handler_name=handler_name,
        retry_count=0,
        database=UrlDatabase(database_url),
        idempotency_key=f"jobu-test-{handler_name}",
        access=access,
    )


async def run_step(
    handler_name: str,
    params: dict[str, Any],
    *,
    database_url: str = "sqlite:///:memory:",
    access: DataAccess | None = None,
) -> HandlerResult:
    """Run one registered handler on `params`, as the worker would (minus the job store):
    `database_url` is the job store's database (db_loader's "jobstore")."""
    cls = get_handler(handler_name)
    step = cls(handler_context(handler_name, database_url, access))
    # plain HandlerParams: the step's own model then refuses bad params with InvalidParamsError
    return await step.execute(HandlerParams.model_validate(params))


async def execute(url: str, sql: str) -> None:
    """One statement on a PostgreSQL database of its own connection (a table made or emptied)."""
    import asyncpg  # type: ignore[import-untyped, unused-ignore]

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()
