"""The short fault-injection soak (bench/soak.py --short) on each backend, as CI runs it.

The soak checks its own invariants from the database and prints `violations N`; this test runs
the three backends at once (they share nothing but LocalStack and the database servers) and
fails on any violation, with the soak's report in the failure message.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.localstack


def test_short_soak_has_no_violations_on_any_backend(localstack_endpoint: str) -> None:
    # the soak finds LocalStack up (it would start one itself that no one stops), stopped after the run
    soaks = {
        backend: subprocess.Popen(
            [sys.executable, str(REPO / "bench" / "soak.py"), "--short", "--backend", backend],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for backend in ("postgres", "mysql", "sqlite")
    }
    reports = {backend: soak.communicate(timeout=600)[0] for backend, soak in soaks.items()}
    for backend, soak in soaks.items():
        report = reports[backend]
        assert soak.returncode == 0, f"{backend}:\n{report}"
        assert report.rstrip().endswith("violations 0"), f"{backend}:\n{report}"
        assert "1 database restarts" in report or backend != "postgres", report
        assert "== tick contention on" in report or backend == "sqlite", report
        assert "operator races: 15 ticks" in report or backend == "sqlite", report
