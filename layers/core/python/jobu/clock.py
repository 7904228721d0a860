"""The one clock the core reads: UTC, timezone-aware. Code that decides takes `now` as an argument."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
