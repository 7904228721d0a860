"""What the benchmarks share: this process's memory from /proc, and one measurement per child process.

Each measurement runs in a fresh interpreter so that one run's imports, caches and peak memory do
not leak into the next.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any


def memory_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process, from /proc (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def reset_peak() -> None:
    """Start the peak-RSS mark (VmHWM) again from the current RSS (Linux >= 4.0)."""
    Path("/proc/self/clear_refs").write_text("5")


def measure_in_child(script: str, *arguments: str) -> dict[str, Any]:
    """Run `script --child ...` in a fresh interpreter; its last stdout line is the JSON result."""
    out = subprocess.run([sys.executable, script, *arguments], capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout.splitlines()[-1])
    return result
