"""`make bench`'s table (bench/run_all.py): rows from each script's `figure` lines, failures said."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import run_all
from bench.table import Figure, figures

GOOD = """
from bench.table import figure
print("some figures")
figure("worker", "900 runs/s", "floor: 1,000 runs/s", "0.90", ">= 0.8")
print("ratio 0.90")
"""


@pytest.fixture
def bench_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(run_all, "BENCH", tmp_path)
    return tmp_path


def test_a_scripts_figures_become_rows(bench_dir: Path) -> None:
    (bench_dir / "good.py").write_text(GOOD)
    rows, ok = run_all.run("good", ())
    assert ok
    assert rows == [Figure("worker", "900 runs/s", "floor: 1,000 runs/s", "0.90", ">= 0.8")]
    assert (
        run_all.table(rows).splitlines()[-1]
        == "| worker | 900 runs/s | floor: 1,000 runs/s | 0.90 | >= 0.8 |"
    )


@pytest.mark.parametrize(
    ("body", "why"),
    [("raise SystemExit(3)", "exit status 3"), ("print('ratio went missing')", "last line is not `ratio X`")],
)
def test_a_failed_script_is_a_row_that_says_so(bench_dir: Path, body: str, why: str) -> None:
    (bench_dir / "bad.py").write_text(body)
    (row,), ok = run_all.run("bad", ())
    assert not ok
    assert row.ours.startswith(f"FAILED ({why}")


def test_a_missing_script_is_a_failed_row(bench_dir: Path) -> None:
    (row,), ok = run_all.run("cron_tick", ())
    assert not ok
    assert row.ours == "bench/cron_tick.py not found"


def test_every_listed_benchmark_exists() -> None:
    assert [name for name, _ in run_all.SCRIPTS if not (run_all.BENCH / f"{name}.py").exists()] == []


def test_only_figure_lines_are_read() -> None:
    assert figures(
        'ratio 2\nfigure {"figure": "a", "ours": "b", "floor": "c", "ratio": "d", "target": "e"}'
    ) == [Figure("a", "b", "c", "d", "e")]
