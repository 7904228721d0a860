"""A process that used the SQLite backend exits, whether or not it closed its store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

UNCLOSED_STORE = """
import asyncio
from jobu.store import open_store

async def main():
    store = await open_store("sqlite:///{path}")
    await store.migrate()
    # no store.close(): a crash, or a forgotten close

asyncio.run(main())
print("main done", flush=True)
"""

CONTAINER = """
import os
os.environ.update(
    JOBU_DATABASE_URL="sqlite:///{path}",
    JOBU_WORK_QUEUE_URL="http://unused",
    JOBU_WORK_QUEUE_URL_PIPELINE="http://unused-pipeline",
    JOBU_DATABASE_POOL_SIZE="1",
)
from jobu.config import FunctionConfig
from jobu.lambda_runtime import Container

container = Container(FunctionConfig)  # as an entry point module makes it; closed by its atexit handler
store = container.run(container.store())
container.run(store.migrate())
print("main done", flush=True)
"""


@pytest.mark.parametrize("script", [UNCLOSED_STORE, CONTAINER], ids=["unclosed-store", "container"])
def test_process_exits_after_using_sqlite(script: str, tmp_path: Path) -> None:
    code = script.format(path=tmp_path / "jobu.db")
    # 60 s is not a speed target: before the fix such a process never exited
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "main done\n"
