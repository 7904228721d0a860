"""Loading the SQL files (jobu.store.connector): each of jobu's queries parsed by aiosql at its first
use, the same as aiosql makes of the files whole; aiosql's comment scan only where /* */ is."""

from __future__ import annotations

from pathlib import Path

import aiosql
import pytest
from aiosql import query_loader

from jobu.store.asyncmy_adapter import AsyncMyAdapter
from jobu.store.connector import SQL_DIR, LazyQueries, _comment_scan_only_where_comments_are, _sql_files

ADAPTERS = {"postgres": "asyncpg", "sqlite": "aiosqlite", "mysql": AsyncMyAdapter}


def made(query: object) -> tuple[object, ...]:
    """What a query's function does: its SQL (as the driver gets it), operation, parameters."""
    return tuple(
        getattr(query, name) for name in ("sql", "operation", "parameters", "attributes", "__signature__")
    )


@pytest.mark.parametrize("backend", sorted(ADAPTERS))
def test_each_query_is_what_aiosql_alone_makes_of_the_files(backend: str) -> None:
    files = _sql_files(SQL_DIR, backend)
    whole = aiosql.from_str(
        "\n".join(path.read_text() for path in files), ADAPTERS[backend], mandatory_parameters=False
    )
    lazy = LazyQueries(ADAPTERS[backend], files)
    assert lazy.parsed == {}  # nothing until a query is asked for
    names = whole.available_queries
    assert sorted(set(lazy.names)) == sorted(
        name for name in names if not name.endswith("_cursor") or name.removesuffix("_cursor") not in names
    )
    for name in names:  # every query, and a SELECT's cursor form
        assert made(getattr(lazy, name)) == made(getattr(whole, name)), name
    assert sorted(lazy.parsed) == sorted(lazy.names)


def test_a_query_is_parsed_at_its_first_use_alone(tmp_path: Path) -> None:
    (tmp_path / "a.sql").write_text(
        "-- the file's own comment\n\n-- name: one$\nSELECT 1;\n\n"
        "-- name: two-more^\n-- its doc\nSELECT :n AS n;\n"
    )
    (tmp_path / "b.sql").write_text("-- name: three!\nDELETE FROM t WHERE id = :id;\n")
    queries = LazyQueries("asyncpg", [tmp_path / "a.sql", tmp_path / "b.sql"])
    assert queries.names == ["one", "three", "two_more"]
    two = queries.two_more
    assert queries.parsed == {"two_more": tmp_path / "a.sql"}
    assert two.__doc__ == "its doc"
    # aiosql gives the query's function its file and line (a traceback shows the SQL's place)
    assert (two.__code__.co_filename, two.__code__.co_firstlineno) == (str(tmp_path / "a.sql"), 6)
    assert queries.two_more is two  # parsed once
    assert queries.three.sql == "DELETE FROM t WHERE id = $1;"  # the driver's SQL, as aiosql makes it
    assert sorted(queries.parsed) == ["three", "two_more"]
    with pytest.raises(AttributeError, match="no query named 'four'"):
        _ = queries.four


def test_a_name_defined_twice_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.sql").write_text("-- name: one$\nSELECT 1;\n")
    (tmp_path / "b.sql").write_text("\n-- name: one$\nSELECT 2;\n")
    queries = LazyQueries("aiosqlite", [tmp_path / "a.sql", tmp_path / "b.sql"])
    with pytest.raises(aiosql.SQLLoadException, match=r"query one defined twice: .*a.sql:1 and .*b.sql:2"):
        _ = queries.one


@pytest.mark.parametrize("name", ["names", "parsed"])
def test_a_query_may_not_hide_an_attribute(tmp_path: Path, name: str) -> None:
    (tmp_path / "a.sql").write_text(f"-- name: {name}$\nSELECT 1;\n")
    queries = LazyQueries("aiosqlite", [tmp_path / "a.sql"])
    with pytest.raises(
        aiosql.SQLLoadException, match=f"cannot override existing attribute with query: {name}"
    ):
        _ = queries.anything


def test_a_name_inside_a_block_comment_names_no_query(tmp_path: Path) -> None:
    (tmp_path / "a.sql").write_text(
        "/* -- name: hidden$\nSELECT 0; */\n-- name: one$\nSELECT /* not sent */ 1;\n"
    )
    queries = LazyQueries("aiosqlite", [tmp_path / "a.sql"])
    assert queries.names == ["one"]
    assert "not sent" not in queries.one.sql


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
