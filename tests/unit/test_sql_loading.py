"""Loading the SQL files (jobu.store.connector): aiosql's comment scan runs only where /* */ is."""

from __future__ import annotations

import aiosql
import pytest
from aiosql import query_loader

from jobu.store.asyncmy_adapter import AsyncMyAdapter
from jobu.store.connector import SQL_DIR, _comment_scan_only_where_comments_are, _load_queries

ADAPTERS = {"postgres": "asyncpg", "sqlite": "aiosqlite", "mysql": AsyncMyAdapter}


def parsed(queries: object) -> dict[str, str]:
    return {name: getattr(queries, name).sql for name in queries.available_queries}  # type: ignore[attr-defined]


@pytest.mark.parametrize("backend", sorted(ADAPTERS))
def test_the_queries_are_what_aiosql_alone_makes_of_the_files(backend: str) -> None:
    files = sorted((SQL_DIR / "common").glob("*.sql")) + sorted((SQL_DIR / backend).glob("*.sql"))
    sql = "\n".join(path.read_text() for path in files)
    assert parsed(_load_queries(ADAPTERS[backend], SQL_DIR, backend)) == parsed(
        aiosql.from_str(sql, ADAPTERS[backend], mandatory_parameters=False)
    )


def test_sql_with_a_block_comment_still_has_it_removed() -> None:
    sql = "-- name: one^\n-- what it does\nSELECT /* not sent */ 1 AS one;\n"
    with _comment_scan_only_where_comments_are():
        queries = aiosql.from_str(sql, "aiosqlite", mandatory_parameters=False)
    assert "not sent" not in queries.one.sql


def test_the_scan_is_aiosqls_own_again_afterwards() -> None:
    scan = query_loader._remove_ml_comments
    with _comment_scan_only_where_comments_are():
        assert query_loader._remove_ml_comments is not scan
        assert query_loader._remove_ml_comments("SELECT 1 -- x\n") == "SELECT 1 -- x\n"
    assert query_loader._remove_ml_comments is scan
