"""A run cancelled by its timeout while its work runs in a thread publishes nothing afterwards."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from jobu.access import DataAccess
from jobu_handlers.pipeline import csv_parquet
from jobu_handlers.pipeline.errors import StepCancelledError
from jobu_handlers.pipeline.storage import Files
from jobu_handlers.pipeline.threads import in_thread
from tests.support.pipeline import run_step

# files under tmp_path, the test buckets and tables (tests/conftest.py: data_access)
pytestmark = pytest.mark.usefixtures("data_access")


async def test_in_thread_tells_the_work_it_was_cancelled() -> None:
    started, release = threading.Event(), threading.Event()
    seen: list[bool] = []

    def work(cancelled: threading.Event) -> None:
        started.set()
        release.wait()
        seen.append(cancelled.is_set())

    task = asyncio.create_task(in_thread(work))
    await asyncio.to_thread(started.wait)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    release.set()
    await asyncio.get_running_loop().shutdown_default_executor()

    assert seen == [True]


def test_publish_is_refused_once_cancelled(tmp_path: Path, data_access: DataAccess) -> None:
    cancelled = threading.Event()
    with Files(data_access, cancelled=cancelled) as files:
        output = files.output(str(tmp_path / "out.parquet"))
        output.stream.write(b"data")
        cancelled.set()

        with pytest.raises(StepCancelledError, match="cancelled"):
            files.publish(output)

    assert list(tmp_path.iterdir()) == []


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


async def test_a_timed_out_preprocess_writes_no_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "input.csv"
    source.write_text("a\n1\n")
    started, release = threading.Event(), threading.Event()
    real = csv_parquet.csv_to_parquet

    def slow(*args: Any) -> Any:
        started.set()
        release.wait()
        return real(*args)

    monkeypatch.setattr(csv_parquet, "csv_to_parquet", slow)
    task = asyncio.create_task(
        run_step(
            "pandas_preprocess", {"input_path": str(source), "output_path": str(tmp_path / "out.parquet")}
        )
    )
    await asyncio.to_thread(started.wait)
    task.cancel()  # what asyncio.timeout does when the run's time is up
    with pytest.raises(asyncio.CancelledError):
        await task
    release.set()
    await asyncio.get_running_loop().shutdown_default_executor()  # the thread has finished

    assert names(tmp_path) == ["input.csv"]
