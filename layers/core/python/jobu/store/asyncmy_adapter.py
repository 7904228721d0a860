"""An aiosql driver adapter for asyncmy (aiosql ships none for it).

SQL keeps aiosql's `:name` parameters; they become asyncmy's pyformat `%(name)s` here, so a
literal percent sign in a MySQL query file must be written `%%`. Rows come back as dicts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiosql.adapters.pyformat import _replacer
from aiosql.utils import VAR_REF
from asyncmy.cursors import DictCursor


class AsyncMyAdapter:
    is_aio_driver = True

    def process_sql(self, query_name: str, op_type: Any, sql: str) -> str:
        return VAR_REF.sub(_replacer, sql)

    async def select(
        self, conn: Any, query_name: str, sql: str, parameters: Any, record_class: Any = None
    ) -> AsyncIterator[Any]:
        async with conn.cursor(DictCursor) as cursor:
            await cursor.execute(sql, parameters or None)
            rows = await cursor.fetchall()
        for row in rows:
            yield row if record_class is None else record_class(**row)

    async def select_one(
        self, conn: Any, query_name: str, sql: str, parameters: Any, record_class: Any = None
    ) -> Any:
        async with conn.cursor(DictCursor) as cursor:
            await cursor.execute(sql, parameters or None)
            row = await cursor.fetchone()
        return row if row is None or record_class is None else record_class(**row)

    async def select_value(self, conn: Any, query_name: str, sql: str, parameters: Any) -> Any:
        async with conn.cursor() as cursor:
            await cursor.execute(sql, parameters or None)
            row = await cursor.fetchone()
        return row[0] if row else None

    @asynccontextmanager
    async def select_cursor(
        self, conn: Any, query_name: str, sql: str, parameters: Any
    ) -> AsyncIterator[Any]:
        async with conn.cursor(DictCursor) as cursor:
            await cursor.execute(sql, parameters or None)
            yield cursor

    async def insert_returning(self, conn: Any, query_name: str, sql: str, parameters: Any) -> Any:
        # MySQL has no RETURNING: the new row's id is the cursor's lastrowid
        async with conn.cursor() as cursor:
            await cursor.execute(sql, parameters or None)
            return cursor.lastrowid

    async def insert_update_delete(self, conn: Any, query_name: str, sql: str, parameters: Any) -> int:
        async with conn.cursor() as cursor:
            await cursor.execute(sql, parameters or None)
            return int(cursor.rowcount)

    async def insert_update_delete_many(self, conn: Any, query_name: str, sql: str, parameters: Any) -> int:
        async with conn.cursor() as cursor:
            await cursor.executemany(sql, parameters)
            return int(cursor.rowcount)

    async def execute_script(self, conn: Any, sql: str) -> str:
        async with conn.cursor() as cursor:
            for statement in split_statements(sql):
                await cursor.execute(statement)
        return "DONE"


def split_statements(sql: str) -> list[str]:
    """Split a DDL file into statements (asyncmy runs one statement per call).

    Good enough for schema files: statements end with ';' at the end of a line, and '--'
    comment lines are dropped. It is not a SQL parser.
    """
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";\n") if s.strip().rstrip(";").strip()]
