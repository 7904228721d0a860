"""`python -m jobu.migrate [--database-url URL]`: apply the schema, idempotently.

The URL defaults to JOBU_DATABASE_URL. Applied files are recorded in schema_migrations, so a
second run applies nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from jobu import constants
from jobu.errors import JobuError
from jobu.store import open_store


async def migrate(url: str, schema_dir: Path | None) -> list[str]:
    store = await open_store(url)
    try:
        return await store.migrate(schema_dir)
    finally:
        await store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobu.migrate", description=__doc__)
    parser.add_argument("--database-url", default=os.environ.get(constants.DATABASE_URL))
    parser.add_argument(
        "--schema-dir",
        type=Path,
        default=None,
        help="default: the schema shipped with jobu (jobu/store/schema)",
    )
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error(f"give --database-url or set {constants.DATABASE_URL}")
    try:
        applied = asyncio.run(migrate(args.database_url, args.schema_dir))
    except (JobuError, OSError) as error:
        print(f"migrate: {error}", file=sys.stderr)
        return 1
    print("\n".join(f"applied {name}" for name in applied) or "schema is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
