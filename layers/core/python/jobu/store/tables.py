"""The job store's own tables, which no handler may ever write to (docs/security.md).

Derived from the schema, never listed by hand: every CREATE TABLE in the migrations
(jobu/store/schema/<backend>/*.sql) and in jobu's own queries (schema_migrations is created by
them). The migrations are not deployed with the layer, so `make manifest` writes the names to
job_store_tables.json beside this module; a test fails when a migration adds a table and the
file was not rewritten.
"""

from __future__ import annotations

import argparse
import json
import re
from functools import cache
from pathlib import Path

from jobu.store.connector import SQL_DIR
from jobu.store.migrations import default_schema_dir

TABLES_PATH = Path(__file__).with_name("job_store_tables.json")
_NAME = r"[`\"]?([A-Za-z_][A-Za-z0-9_]*)[`\"]?"
# What a schema file does to the set of tables, in file order: a rebuild creates `x_new`, drops
# `x` and renames `x_new` to `x`, which must leave `x` and not `x_new`.
_STATEMENTS = re.compile(
    r"\bCREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    + _NAME
    + r"|\bDROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?"
    + _NAME
    + r"|\bALTER\s+TABLE\s+"
    + _NAME
    + r"\s+RENAME\s+TO\s+"
    + _NAME
    + r"|\bRENAME\s+TABLE\s+"
    + _NAME
    + r"\s+TO\s+"
    + _NAME,
    re.IGNORECASE,
)


@cache
def job_store_tables() -> frozenset[str]:
    """The job store's table names, lower case."""
    return frozenset(json.loads(TABLES_PATH.read_text())["tables"])


def tables_in_sql(*folders: Path) -> list[str]:
    """Every table a CREATE TABLE in the .sql files under `folders` creates, lower case, sorted."""
    names: set[str] = set()
    for folder in folders:
        for backend in sorted({path.parent for path in folder.rglob("*.sql")}):
            tables: set[str] = set()
            for path in sorted(backend.glob("*.sql")):
                for created, dropped, *renames in _STATEMENTS.findall(path.read_text()):
                    old, new = (renames[0] or renames[2]), (renames[1] or renames[3])
                    tables -= {dropped.lower(), old.lower()}
                    tables |= {name.lower() for name in (created, new) if name}
            names |= tables - {""}
    return sorted(names)


def tables_from_schema(schema_dir: Path | None = None) -> list[str]:
    return tables_in_sql(schema_dir or default_schema_dir(), SQL_DIR)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help=f"rewrite {TABLES_PATH.name} from the schema")
    args = parser.parse_args()
    tables = tables_from_schema()
    if args.write:
        TABLES_PATH.write_text(json.dumps({"tables": tables}, indent=2) + "\n")
    print("\n".join(tables))


if __name__ == "__main__":
    main()
