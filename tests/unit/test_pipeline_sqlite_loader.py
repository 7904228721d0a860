"""db_loader into SQLite (the local default store): all rows or none."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jobu_handlers.pipeline.errors import InvalidParamsError, LoadError, PipelineError, TargetTableError
from tests.support.pipeline import run_step

# files under tmp_path, the test buckets and tables (tests/conftest.py: data_access)
pytestmark = pytest.mark.usefixtures("data_access")


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "target.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE sales (id INTEGER PRIMARY KEY, label TEXT NOT NULL, amount TEXT, at TEXT)")
        conn.execute("INSERT INTO sales VALUES (100, 'kept', NULL, NULL)")
    return path


def rows(database: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(database) as conn:
        return list(conn.execute("SELECT id, label, amount, at FROM sales ORDER BY id"))


def parquet_file(path: Path, ids: list[int], labels: list[str | None]) -> Path:
    table = pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "label": pa.array(labels, pa.string()),
            "amount": pa.array([Decimal("1.50")] * len(ids), pa.decimal128(6, 2)),
            "at": pa.array([datetime(2026, 1, 2, 3, 4, 5)] * len(ids), pa.timestamp("us")),
        }
    )
    pq.write_table(table, path)
    return path


async def test_loads_into_sqlite(database: Path, tmp_path: Path) -> None:
    source = parquet_file(tmp_path / "in.parquet", [1, 2], ["a", "b"])

    result = await run_step(
        "db_loader", {"input_path": str(source), "table": "sales"}, database_url=f"sqlite:///{database}"
    )

    data = result.model_dump()
    assert (result.count, data["backend"], data["method"]) == (2, "sqlite", "insert")
    assert rows(database)[:2] == [
        (1, "a", "1.50", "2026-01-02 03:04:05.000000"),
        (2, "b", "1.50", "2026-01-02 03:04:05.000000"),
    ]


async def test_a_refused_row_loads_nothing(database: Path, tmp_path: Path) -> None:
    source = parquet_file(tmp_path / "in.parquet", [1, 2, 3], ["a", None, "c"])

    with pytest.raises(LoadError, match=r"nothing was loaded: NOT NULL constraint failed: sales\.label"):
        await run_step(
            "db_loader",
            {"input_path": str(source), "table": "sales", "mode": "replace"},
            database_url=f"sqlite:///{database}",
        )

    assert rows(database) == [(100, "kept", None, None)]


async def test_missing_table(tmp_path: Path) -> None:
    source = parquet_file(tmp_path / "in.parquet", [1], ["a"])

    with pytest.raises(TargetTableError, match="table nothing_here does not exist"):
        await run_step(
            "db_loader",
            {"input_path": str(source), "table": "nothing_here"},
            database_url=f"sqlite:///{tmp_path / 'empty.db'}",
        )


async def test_unsupported_database_url(tmp_path: Path) -> None:
    source = parquet_file(tmp_path / "in.parquet", [1], ["a"])

    with pytest.raises(PipelineError, match="db_loader cannot load into a oracle database URL"):
        await run_step("db_loader", {"input_path": str(source), "table": "t"}, database_url="oracle://x/y")


async def test_a_database_url_in_params_is_refused(tmp_path: Path) -> None:
    source = parquet_file(tmp_path / "in.parquet", [1], ["a"])

    with pytest.raises(InvalidParamsError, match="database_url is not accepted in params"):
        await run_step("db_loader", {"input_path": str(source), "table": "t", "database_url": "sqlite:///x"})
