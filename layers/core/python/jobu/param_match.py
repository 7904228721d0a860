"""Runs found by their params: `?param.<key>=<value>` (several ANDed) matches the runs whose params
have that top-level key with that value.

A query value is text, a run's value is JSON, so a value matches:
- a string equal to it, exactly (case and all);
- when it reads as a JSON number (`7`, `-2.5`, `1e3`), also a number equal to it (numerically: `7`
  matches 7 and 7.0), besides the string "7";
- when it is `true`, `false` or `null`, also that boolean or null, besides the string.
Objects and arrays never match; a run without the key never matches.

Each backend gets the filter in the form its query reads (jobu.store.connector.encode_param_match):
PostgreSQL a jsonpath (`params @@ path`, which the GIN index on params answers); MySQL/MariaDB and
SQLite a JSON list of {"k": key, "s": text, "n": number, "lit": "true" | "false" | "null"}.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

MAX_PARAM_MATCHES = 10
MAX_PARAM_KEY_LENGTH = 64
MAX_PARAM_VALUE_LENGTH = 200
# a plain identifier: a key is also part of a query parameter's name and of a JSON path
PARAM_KEY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
QUERY_PREFIX = "param."
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_LITERALS = {"true": True, "false": False, "null": None}
# beyond this a number is not one any backend keeps exactly; the value still matches as a string
_MAX_NUMBER_DIGITS = 30


def _number(text: str) -> int | float | None:
    if len(text) > _MAX_NUMBER_DIGITS or not _NUMBER.fullmatch(text):
        return None
    value = json.loads(text)
    return value if isinstance(value, int) or math.isfinite(value) else None


def as_rows(matches: Mapping[str, str]) -> list[dict[str, Any]]:
    """The filter as MySQL's JSON_TABLE and SQLite's json_each unpack it, one row per key."""
    rows: list[dict[str, Any]] = []
    for key, text in sorted(matches.items()):
        row: dict[str, Any] = {"k": key, "s": text}
        number = _number(text)
        if number is not None:
            row["n"] = number
        if text in _LITERALS:
            row["lit"] = text
        rows.append(row)
    return rows


def as_jsonpath(matches: Mapping[str, str]) -> str:
    """The filter as one PostgreSQL jsonpath predicate, for `params @@ path`.

    Strict mode: a key holding an array is not unwrapped (lax mode would match ["a"] for "a"). Keys
    are plain identifiers and every literal is written by json.dumps (ASCII, JSON escapes, which
    jsonpath's string literals read the same), so nothing in a value can end its literal."""
    clauses = []
    for row in as_rows(matches):
        path = f"$.{json.dumps(row['k'])}"
        choices = [json.dumps(row["s"])]
        if "n" in row:
            choices.append(json.dumps(row["n"]))
        if "lit" in row:
            choices.append(row["lit"])
        clauses.append("(" + " || ".join(f"{path} == {choice}" for choice in choices) + ")")
    return "strict " + " && ".join(clauses)


def from_query(query: Mapping[str, list[str]]) -> dict[str, str]:
    """`param.<key>` query parameters as {key: value}; checking them is RunFilter's (the caller's)."""
    return {
        name.removeprefix(QUERY_PREFIX): values[-1]
        for name, values in query.items()
        if name.startswith(QUERY_PREFIX)
    }
