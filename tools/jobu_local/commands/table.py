"""Plain-text tables for people (the commands print JSON instead with --json)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

MAX_CELL = 60


def kafka_coordinates(topic: str, partition: int | None, offset: int | None) -> str:
    """A Kafka record's place, written one way everywhere (as its runs and rejected records are
    keyed, the dashboard shows it and the dispatcher logs it): `jobu-events:2:3`."""
    return f"{topic}:{partition}:{offset}"


def cell(value: Any, width: int = MAX_CELL) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    text = value if isinstance(value, str) else json.dumps(value, default=str, separators=(",", ":"))
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def render(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[cell(value) for value in row] for row in rows]
    widths = [max([len(header), *(len(row[index]) for row in cells)]) for index, header in enumerate(headers)]
    lines = ["  ".join(header.ljust(width) for header, width in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * width for width in widths))
    lines += [
        "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    ]
    return "\n".join(lines)


def to_json(value: Any) -> str:
    return json.dumps(value, default=str, indent=2)
