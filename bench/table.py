"""`make bench`'s table: each benchmark prints its rows as `figure {...}` lines before its last line
(`ratio X`); bench/run_all.py collects them from every script into one table."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

PREFIX = "figure "


@dataclass(frozen=True)
class Figure:
    figure: str
    ours: str
    floor: str
    ratio: str
    target: str


def figure(name: str, ours: str, floor: str, ratio: str, target: str) -> None:
    """Print one row of the table (on the benchmark's own output)."""
    print(PREFIX + json.dumps(asdict(Figure(name, ours, floor, ratio, target))))


def figures(output: str) -> list[Figure]:
    """The rows a benchmark printed."""
    rows: list[Figure] = []
    for line in output.splitlines():
        if line.startswith(PREFIX):
            fields: dict[str, Any] = json.loads(line.removeprefix(PREFIX))
            rows.append(Figure(**fields))
    return rows
