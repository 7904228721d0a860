"""Concurrency and rate limits per handler and per concurrency key (docs/executions.md, "Limits").

A handler's limits:
- concurrency: at most this many of its runs PENDING or RUNNING at once (a run holds its slot from
  the moment it is handed over to SQS until it ends; a retry keeps it);
- per_key_concurrency: the same, per `concurrency_key` (runs without a key share one key);
- rate: {limit, period_seconds, burst}: runs start evenly, one every period/limit, with up to
  `burst` at once (the generic cell rate algorithm: over any window of period_seconds, at most
  limit + burst - 1 starts).

The defaults are the handler's code (`@handler("name", limits=Limits(...))`, written to the handler
manifest by `make manifest`, so the dispatchers know them without importing handlers); a row of
handler_limits, set through the admin API, replaces them at run time. Plain dataclasses: the
dispatchers import this, and never pydantic.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jobu.documents import FieldError

# written by `make manifest` (jobu.handler_manifest), read here too: the store applies the defaults,
# and sits below the manifest's module
MANIFEST_PATH = Path(__file__).with_name("handler_manifest.json")
MAX_CONCURRENCY = 100_000
MAX_RATE_LIMIT = 1_000_000
MAX_RATE_PERIOD_SECONDS = 7 * 24 * 3600  # a week


@dataclass(frozen=True)
class Rate:
    """`limit` starts per `period_seconds`, up to `burst` of them at once."""

    limit: int
    period_seconds: int
    burst: int = 1

    @property
    def interval_seconds(self) -> float:
        """The time between two starts, on average."""
        return self.period_seconds / self.limit

    def to_json(self) -> dict[str, int]:
        return {"limit": self.limit, "period_seconds": self.period_seconds, "burst": self.burst}


@dataclass(frozen=True)
class Limits:
    """A handler's limits; None: no such limit."""

    concurrency: int | None = None
    per_key_concurrency: int | None = None
    rate: Rate | None = None

    def __post_init__(self) -> None:
        # a handler's code is checked as an operator's request is: the same bounds, said the same way
        Limits.parse(self.to_json())

    @property
    def any(self) -> bool:
        return self.concurrency is not None or self.per_key_concurrency is not None or self.rate is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "concurrency": self.concurrency,
            "per_key_concurrency": self.per_key_concurrency,
            "rate": None if self.rate is None else self.rate.to_json(),
        }

    @classmethod
    def parse(cls, document: Mapping[str, Any]) -> Limits:
        """Limits from a JSON object (a request's body, a manifest's entry); FieldError names the
        field that is wrong (`rate.limit` for a field of the rate)."""
        if not isinstance(document, Mapping):
            raise FieldError("body", "Input should be a valid object")
        unknown = sorted(set(document) - {"concurrency", "per_key_concurrency", "rate"})
        if unknown:
            raise FieldError(str(unknown[0]), "Extra inputs are not permitted")
        concurrency = _count(document, "concurrency", MAX_CONCURRENCY)
        per_key = _count(document, "per_key_concurrency", MAX_CONCURRENCY)
        if concurrency is not None and per_key is not None and per_key > concurrency:
            raise FieldError("per_key_concurrency", "should be at most concurrency")
        rate = document.get("rate")
        if rate is None:
            return _made(concurrency, per_key, None)
        if not isinstance(rate, Mapping):
            raise FieldError("rate", "Input should be an object {limit, period_seconds, burst} or null")
        unknown = sorted(set(rate) - {"limit", "period_seconds", "burst"})
        if unknown:
            raise FieldError(f"rate.{unknown[0]}", "Extra inputs are not permitted")
        limit = _count(rate, "limit", MAX_RATE_LIMIT, prefix="rate.", required=True)
        period = _count(rate, "period_seconds", MAX_RATE_PERIOD_SECONDS, prefix="rate.", required=True)
        burst = _count(rate, "burst", MAX_RATE_LIMIT, prefix="rate.")
        assert limit is not None
        assert period is not None
        if burst is not None and burst > limit:
            raise FieldError("rate.burst", "should be at most rate.limit")
        return _made(concurrency, per_key, Rate(limit, period, 1 if burst is None else burst))


def _made(concurrency: int | None, per_key: int | None, rate: Rate | None) -> Limits:
    made = object.__new__(Limits)  # checked already: not through __post_init__ again
    object.__setattr__(made, "concurrency", concurrency)
    object.__setattr__(made, "per_key_concurrency", per_key)
    object.__setattr__(made, "rate", rate)
    return made


def _count(
    document: Mapping[str, Any], name: str, maximum: int, *, prefix: str = "", required: bool = False
) -> int | None:
    value = document.get(name)
    field = prefix + name
    if value is None:
        if required:
            raise FieldError(field, "Field required")
        return None
    # a bool is an int to Python, never to a person; a float 2.0 is not a count either
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(field, "Input should be a valid integer")
    if not 1 <= value <= maximum:
        raise FieldError(field, f"Input should be between 1 and {maximum}")
    return value


NO_LIMITS = Limits()


@cache
def _manifest_limits() -> dict[str, Limits]:
    found = json.loads(MANIFEST_PATH.read_text()).get("limits", {})
    return {name: Limits.parse(limits) for name, limits in found.items()}


def default_limits(handler_name: str) -> Limits | None:
    """The limits the handler's code sets (the manifest's); None when it sets none."""
    return _manifest_limits().get(handler_name)
