"""db_loader's work: a Parquet file into an existing table, all rows or none.

Imported by the handler when it runs (pyarrow at module level; the database drivers inside the
target that needs them). Each backend takes its fastest bulk path inside one transaction:

- PostgreSQL: COPY ... FROM STDIN through asyncpg's `copy_to_table`, in the binary format when
  every column's Parquet type and the table column's type are a pair pgcopy_binary writes exactly
  (the server then parses nothing), else as CSV written by pyarrow (PostgreSQL parses it with its
  own type input functions, so a wrong value is reported with its line and column). Either is
  made from the Parquet batches (C++ and numpy, no Python object per value) and streamed, a batch
  at a time, so nothing lands in /tmp.
- MySQL / MariaDB: LOAD DATA LOCAL INFILE through asyncmy (see asyncmy_infile.py), about 4x
  a batched multi-row INSERT. LOCAL turns bad values into warnings, so any warning, or a row
  count that differs from the file's, rolls the load back. If the server refuses local files
  (MySQL 8 ships with local_infile=OFF), `mysql_method="auto"` falls back to multi-row INSERT
  batches (asyncmy's executemany) in the same transaction, with strict sql_mode.
- SQLite (the local default store): executemany INSERT in one transaction.

Table and column names are checked against the table's own columns (a fixed query from
sql/<backend>/bulk_load.sql) and quoted; values are never part of SQL text.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import aiosql
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]
import pyarrow.csv as pacsv  # type: ignore[import-untyped, unused-ignore]
import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]

from jobu_handlers.pipeline import pgcopy_binary
from jobu_handlers.pipeline.errors import (
    ColumnError,
    EmptyInputError,
    LoadError,
    MalformedInputError,
    PipelineError,
    StepCancelledError,
    TargetTableError,
)
from jobu_handlers.pipeline.params import LoadParams
from jobu_handlers.pipeline.threads import in_thread

SQL_DIR = Path(__file__).with_name("sql")
_BATCH_ROWS = 16_384
# PostgreSQL CSV: strings always quoted (so "" is an empty string), nulls unquoted and empty
_CSV_OPTIONS = pacsv.WriteOptions(include_header=False, quoting_style="needed")
# MySQL/MariaDB errors meaning "this server or client does not take local files"
_LOCAL_INFILE_REFUSED = frozenset({1148, 3948, 3950, 4166})
_TRANSACTIONAL_ENGINES = frozenset({"innodb", "rocksdb", "ndbcluster", "tokudb"})


@dataclass(frozen=True)
class ParquetInput:
    source: BinaryIO  # the opened file (jobu_handlers.pipeline.storage), read where it is
    columns: list[str]
    num_rows: int
    schema: Any  # the file's Arrow schema

    def batches(self) -> Any:
        return pq.ParquetFile(self.source).iter_batches(batch_size=_BATCH_ROWS, columns=self.columns)


@dataclass
class LoadOutcome:
    backend: str
    method: str
    rows_loaded: int = 0
    rows_deleted: int = 0


def open_input(params: LoadParams, source: BinaryIO) -> ParquetInput:
    """The Parquet file's columns to load and its row count; refuses what cannot be loaded."""
    try:
        parquet = pq.ParquetFile(source)
        schema, num_rows = parquet.schema_arrow, parquet.metadata.num_rows
    except (pa.ArrowInvalid, OSError) as error:
        raise MalformedInputError(
            f"input is not a readable Parquet file: {params.input_path}: {error}"
        ) from None
    columns = params.columns if params.columns is not None else list(schema.names)
    missing = [name for name in columns if name not in schema.names]
    if missing:
        raise ColumnError(
            f"columns not in {params.input_path}: {', '.join(missing)} (it has: {', '.join(schema.names)})"
        )
    nested = [name for name in columns if pa.types.is_nested(schema.field(name).type)]
    if nested:
        raise ColumnError(f"columns of nested types cannot be loaded into a table: {', '.join(nested)}")
    if num_rows == 0 and not params.allow_empty:
        raise EmptyInputError(f"input has no rows: {params.input_path}")
    return ParquetInput(source, columns, int(num_rows), schema)


def target_for(url: str) -> Target:
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("postgresql", "postgres"):
        return PostgresTarget(url)
    if scheme in ("mysql", "mariadb"):
        return MySQLTarget(url)
    if scheme == "sqlite":
        return SQLiteTarget(url)
    raise PipelineError(f"db_loader cannot load into a {scheme or 'scheme-less'} database URL")


def check_columns(params: LoadParams, table_columns: list[str], data: ParquetInput) -> None:
    if not table_columns:
        raise TargetTableError(f"table {params.table} does not exist (or is not visible to this user)")
    missing = [name for name in data.columns if name not in table_columns]
    if missing:
        raise TargetTableError(
            f"table {params.table} has no column(s) {', '.join(missing)}"
            f" (its columns: {', '.join(table_columns)})"
        )


def quote(name: str, quote_char: str) -> str:
    """An identifier quoted for SQL (the quote character doubled inside)."""
    return quote_char + name.replace(quote_char, quote_char * 2) + quote_char


@cache
def queries(backend: str, adapter: Any) -> Any:
    return aiosql.from_path(SQL_DIR / backend, adapter)


class Target(ABC):
    backend: str

    def __init__(self, url: str) -> None:
        self.url = url

    @abstractmethod
    async def load(self, params: LoadParams, data: ParquetInput, scratch: Path) -> LoadOutcome:
        """Load every row of `data` into params.table in one transaction, or none of them."""


def write_mysql_csv(data: ParquetInput, target: Path) -> None:
    """The rows as CSV for LOAD DATA: strings always quoted, nulls as an unquoted NULL."""
    options = pacsv.WriteOptions(include_header=False, null_string="NULL", quoting_style="needed")
    writer = None
    try:
        for batch in data.batches():
            table = mysql_compatible(pa.Table.from_batches([batch]))
            if writer is None:
                writer = pacsv.CSVWriter(str(target), table.schema, write_options=options)
            writer.write_table(table)
    except pa.ArrowInvalid as error:
        raise MalformedInputError(f"cannot convert the input for loading: {error}") from None
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        target.write_bytes(b"")


# chunks converted ahead of the COPY: the server parses one while the next ones are written
_CHUNKS_AHEAD = 3


class CopyChunks:
    """The rows for COPY ... FROM STDIN, one batch at a time, converted in a thread of its own that
    keeps up to _CHUNKS_AHEAD chunks ahead of what the COPY has sent, from the moment it is made.

    Converting only when the COPY asked for the next chunk left the server idle while each was
    written (a chunk is larger than the socket's buffer, so sending one waits until the server has
    nearly parsed it). The format waits on the table's column types (`binary` or `csv`), but the
    Parquet reader starts at once: the first batch is read while the connection is made."""

    def __init__(self, data: ParquetInput) -> None:
        self._batches = data.batches()
        self._loop = asyncio.get_running_loop()
        self._converter = ThreadPoolExecutor(1, thread_name_prefix="jobu-copy")
        self._decided = threading.Event()
        self._encoders: list[pgcopy_binary.Encoder] | None = None
        self._closed = False
        self._ahead = deque(self._convert() for _ in range(_CHUNKS_AHEAD))

    def use(self, encoders: list[pgcopy_binary.Encoder] | None) -> str:
        """Binary COPY with these encoders (one per column), or CSV (None); the COPY's format."""
        self._encoders = encoders
        self._decided.set()
        return "csv" if encoders is None else "binary"

    def _convert(self) -> asyncio.Future[bytes | memoryview | None]:
        def convert_next() -> bytes | memoryview | None:
            batch = next(self._batches, None)
            self._decided.wait()
            if self._closed:
                return None
            if self._encoders is None:
                return None if batch is None else _csv_bytes(batch)
            if batch is None:
                return None
            return pgcopy_binary.encode(batch, self._encoders)

        return self._loop.run_in_executor(self._converter, convert_next)

    async def __aiter__(self) -> AsyncIterator[bytes | memoryview]:
        binary = self._encoders is not None
        if binary:
            yield pgcopy_binary.HEADER
        while (chunk := await self._ahead.popleft()) is not None:
            self._ahead.append(self._convert())
            yield chunk
        if binary:
            yield pgcopy_binary.TRAILER

    def close(self) -> None:
        """Stop converting (a COPY that failed, or finished, wants no more)."""
        self._closed = True
        self._decided.set()
        self._converter.shutdown(wait=False, cancel_futures=True)


def _csv_bytes(batch: Any) -> bytes:
    # an Arrow buffer, written in C++ without taking the GIL for each write (a BytesIO is called
    # through Python for every piece, which the event loop's thread then waits on)
    buffer = pa.BufferOutputStream()
    try:
        pacsv.write_csv(pa.Table.from_batches([batch]), buffer, _CSV_OPTIONS)
    except pa.ArrowInvalid as error:
        raise MalformedInputError(f"cannot convert the input for loading: {error}") from None
    return bytes(buffer.getvalue())


def binary_encoders(data: ParquetInput, columns: list[dict[str, Any]]) -> list[pgcopy_binary.Encoder] | None:
    """An encoder for each column to load if every one of them has one (its Parquet type and the
    table column's built-in type are a pair pgcopy_binary writes), else None (CSV)."""
    types = {row["column_name"]: row for row in columns}
    encoders = []
    for name in data.columns:
        column = types[name]
        found = None
        if column["type_schema"] == "pg_catalog":  # a built-in type, not one of the same name
            found = pgcopy_binary.encoder(data.schema.field(name).type, column["type_name"])
        if found is None:
            return None
        encoders.append(found)
    return encoders


def mysql_compatible(table: Any) -> Any:
    """Values as MySQL reads them: booleans as 0/1, timestamps as UTC without zone, in microseconds."""
    for index, column_field in enumerate(table.schema):
        kind = column_field.type
        if pa.types.is_boolean(kind):
            table = table.set_column(index, column_field.name, pc.cast(table[index], pa.int8()))
        elif pa.types.is_timestamp(kind):
            naive = pc.cast(table[index], pa.timestamp("us"), safe=False)
            table = table.set_column(index, column_field.name, naive)
    return table


class PostgresTarget(Target):
    backend = "postgres"

    async def load(self, params: LoadParams, data: ParquetInput, scratch: Path) -> LoadOutcome:
        import asyncpg  # type: ignore[import-untyped, unused-ignore]

        from jobu.store.tls import connection

        outcome = LoadOutcome(self.backend, "copy")
        target = connection(self.url)  # TLS as the URL says (the job store's settings)
        chunks = CopyChunks(data)  # reading while the connection is made
        try:
            conn = await asyncpg.connect(target.url, ssl=target.ssl, timeout=30)
        except BaseException:
            chunks.close()
            raise
        try:
            found = queries("postgres", "asyncpg").table_columns(
                conn, schema_name=params.schema_name, table_name=params.table_name
            )
            rows = [dict(row) async for row in found]
            check_columns(params, [row["column_name"] for row in rows], data)
            copy_format = chunks.use(binary_encoders(data, rows))
            outcome.method = "copy_binary" if copy_format == "binary" else "copy"
            async with conn.transaction():
                if params.mode == "replace":
                    status = await conn.execute(f"DELETE FROM {self._qualified(params)}")
                    outcome.rows_deleted = int(status.rsplit(" ", 1)[-1])
                status = await conn.copy_to_table(
                    params.table_name,
                    schema_name=params.schema_name,
                    source=chunks,
                    columns=data.columns,
                    format=copy_format,
                )
                outcome.rows_loaded = int(status.rsplit(" ", 1)[-1])
                _check_count(params, outcome.rows_loaded, data.num_rows)
        except asyncpg.PostgresError as error:
            where = f" ({error.context})" if getattr(error, "context", None) else ""
            raise LoadError(
                f"loading into {params.table} failed, nothing was loaded: {error}{where}"
            ) from None
        finally:
            chunks.close()
            await conn.close()
        return outcome

    @staticmethod
    def _qualified(params: LoadParams) -> str:
        names = [params.schema_name, params.table_name] if params.schema_name else [params.table_name]
        return ".".join(quote(name, '"') for name in names)


def _check_count(params: LoadParams, loaded: int, expected: int) -> None:
    if loaded != expected:
        raise LoadError(
            f"loading into {params.table} failed, nothing was loaded: "
            f"the database took {loaded} of {expected} rows"
        )


class MySQLTarget(Target):
    backend = "mysql"

    async def load(self, params: LoadParams, data: ParquetInput, scratch: Path) -> LoadOutcome:
        import asyncmy
        from asyncmy.errors import MySQLError

        from jobu.store.asyncmy_adapter import AsyncMyAdapter
        from jobu.store.mysql import connect_kwargs
        from jobu_handlers.pipeline import asyncmy_infile

        asyncmy_infile.install()
        sql = queries("mysql", AsyncMyAdapter)
        conn = await asyncmy.connect(**connect_kwargs(self.url), local_infile=True, autocommit=False)
        try:
            await sql.strict_session(conn)
            await sql.utc_session(conn)
            rows = [
                row
                async for row in sql.table_columns(
                    conn, schema_name=params.schema_name, table_name=params.table_name
                )
            ]
            check_columns(params, [row["column_name"] for row in rows], data)
            engine = str(rows[0]["engine"] or "")
            if engine.lower() not in _TRANSACTIONAL_ENGINES:
                raise TargetTableError(
                    f"table {params.table} uses the {engine} engine, which cannot roll back a failed load"
                )
            await conn.begin()
            try:
                outcome = await self._load(conn, sql, params, data, scratch)
            except asyncio.CancelledError:
                raise  # mid-statement: no rollback on this connection; closing it rolls back
            except BaseException:
                await conn.rollback()
                raise
            await conn.commit()
        except MySQLError as error:
            raise LoadError(f"loading into {params.table} failed, nothing was loaded: {error}") from None
        finally:
            conn.close()
        return outcome

    async def _load(
        self, conn: Any, sql: Any, params: LoadParams, data: ParquetInput, scratch: Path
    ) -> LoadOutcome:
        from asyncmy.errors import MySQLError

        outcome = LoadOutcome(self.backend, params.mysql_method)
        if params.mode == "replace":
            async with conn.cursor() as cursor:
                outcome.rows_deleted = int(await cursor.execute(f"DELETE FROM {self._qualified(params)}"))
        if params.mysql_method in ("auto", "load_data"):
            try:
                outcome.rows_loaded = await self._load_data(conn, sql, params, data, scratch)
                outcome.method = "load_data"
                return outcome
            except MySQLError as error:
                if (
                    params.mysql_method == "load_data"
                    or not error.args
                    or error.args[0] not in _LOCAL_INFILE_REFUSED
                ):
                    raise
        outcome.rows_loaded = await self._insert(conn, params, data)
        outcome.method = "insert"
        return outcome

    async def _load_data(
        self, conn: Any, sql: Any, params: LoadParams, data: ParquetInput, scratch: Path
    ) -> int:
        from jobu_handlers.pipeline.asyncmy_infile import allow_local_infile

        csv_path = scratch / "load.csv"
        await asyncio.to_thread(write_mysql_csv, data, csv_path)
        statement = (
            f"LOAD DATA LOCAL INFILE %s INTO TABLE {self._qualified(params)} CHARACTER SET utf8mb4"
            " FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY ''"
            f" LINES TERMINATED BY '\\n' ({self._columns(data)})"
        )
        async with conn.cursor() as cursor:
            with allow_local_infile(csv_path) as name:
                loaded = int(await cursor.execute(statement, (name,)))
        warnings = int(await sql.warning_count(conn) or 0)
        if warnings:
            first = await sql.first_warning(conn)
            raise LoadError(
                f"loading into {params.table} failed, nothing was loaded: MySQL reported"
                f" {warnings} warning(s), the first: {first['Level']} {first['Code']}: {first['Message']}"
            )
        _check_count(params, loaded, data.num_rows)
        return loaded

    async def _insert(self, conn: Any, params: LoadParams, data: ParquetInput) -> int:
        placeholders = ", ".join(["%s"] * len(data.columns))
        statement = f"INSERT INTO {self._qualified(params)} ({self._columns(data)}) VALUES ({placeholders})"
        loaded = 0
        async with conn.cursor() as cursor:
            for batch in data.batches():
                rows = list(zip(*(column.to_pylist() for column in batch.columns), strict=True))
                loaded += int(await cursor.executemany(statement, rows))
        _check_count(params, loaded, data.num_rows)
        return loaded

    @staticmethod
    def _qualified(params: LoadParams) -> str:
        names = [params.schema_name, params.table_name] if params.schema_name else [params.table_name]
        return ".".join(quote(name, "`") for name in names)

    @staticmethod
    def _columns(data: ParquetInput) -> str:
        return ", ".join(quote(name, "`") for name in data.columns)


class SQLiteTarget(Target):
    backend = "sqlite"

    async def load(self, params: LoadParams, data: ParquetInput, scratch: Path) -> LoadOutcome:
        return await in_thread(lambda cancelled: self._load(params, data, cancelled))

    def _load(self, params: LoadParams, data: ParquetInput, cancelled: threading.Event) -> LoadOutcome:
        from jobu.store.sqlite import sqlite_path

        if params.schema_name not in (None, "main"):
            raise TargetTableError(f"SQLite tables have no schema other than main: {params.table}")
        outcome = LoadOutcome(self.backend, "insert")
        conn = sqlite3.connect(sqlite_path(self.url), isolation_level=None)
        try:
            found = queries("sqlite", "sqlite3").table_columns(conn, table_name=params.table_name)
            check_columns(params, [row[0] for row in found], data)
            table = quote(params.table_name, '"')
            statement = (
                f"INSERT INTO {table} ({', '.join(quote(name, chr(34)) for name in data.columns)})"
                f" VALUES ({', '.join('?' * len(data.columns))})"
            )
            conn.execute("BEGIN IMMEDIATE")
            try:
                if params.mode == "replace":
                    outcome.rows_deleted = conn.execute(f"DELETE FROM {table}").rowcount
                for batch in data.batches():
                    cursor = conn.executemany(statement, _sqlite_rows(batch))
                    outcome.rows_loaded += cursor.rowcount
                _check_count(params, outcome.rows_loaded, data.num_rows)
                if cancelled.is_set():
                    raise StepCancelledError("the run was cancelled (timed out): nothing was loaded")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as error:
            raise LoadError(f"loading into {params.table} failed, nothing was loaded: {error}") from None
        finally:
            conn.close()
        return outcome


def _sqlite_rows(batch: Any) -> list[tuple[Any, ...]]:
    """Rows with values sqlite3 binds as they are: times and decimals as ISO / exact text."""
    columns = []
    for column in batch.columns:
        kind = column.type
        as_text = pa.types.is_temporal(kind) or pa.types.is_decimal(kind)
        columns.append((pc.cast(column, pa.string()) if as_text else column).to_pylist())
    return list(zip(*columns, strict=True))
