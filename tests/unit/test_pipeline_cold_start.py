"""A worker imports its pool's handler modules at cold start: the pipeline's must not pull in pandas
or pyarrow, and the default pool's worker never imports the pipeline's at all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHONPATH = f"{ROOT / 'layers/core/python'}:{ROOT / 'functions/worker'}"
HEAVY = ("pandas", "pyarrow", "numpy", "asyncpg", "asyncmy")


def imported_after(statement: str) -> dict[str, bool]:
    check = f"import sys; {statement}; print(' '.join(str(m in sys.modules) for m in {HEAVY!r}))"
    out = subprocess.run(
        [sys.executable, "-c", check],
        env={"PYTHONPATH": PYTHONPATH, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return dict(zip(HEAVY, (flag == "True" for flag in out), strict=True))


def test_importing_the_handlers_imports_no_heavy_library() -> None:
    loaded = imported_after("import jobu_handlers; jobu_handlers.register_all()")

    assert loaded == dict.fromkeys(HEAVY, False)


def test_each_pools_worker_imports_its_own_handlers_only() -> None:
    check = (
        "import sys; from jobu.handler_manifest import import_pool_handlers; import_pool_handlers({pool!r});"
        "print(*(m in sys.modules for m in ('jobu_handlers.samples', 'jobu_handlers.pipeline')))"
    )
    found = {
        pool: subprocess.run(
            [sys.executable, "-c", check.format(pool=pool)],
            env={"PYTHONPATH": PYTHONPATH, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        for pool in ("default", "pipeline")
    }
    assert found == {"default": ["True", "False"], "pipeline": ["False", "True"]}


def test_the_pipeline_handlers_are_registered_by_that_import() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import jobu_handlers.pipeline; from jobu.handlers import get_handler;"
            "names = ('pandas_preprocess', 'pydantic_validator', 'db_loader');"
            "print(*(get_handler(n).__name__ for n in names))",
        ],
        env={"PYTHONPATH": PYTHONPATH, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()

    assert out == ["PandasPreprocess", "PydanticValidator", "DbLoader"]


def test_the_check_can_see_a_heavy_import() -> None:
    # the probe itself works: running a handler's work module does load pyarrow
    loaded = imported_after("import jobu_handlers.pipeline.csv_parquet")

    assert loaded["pyarrow"]
