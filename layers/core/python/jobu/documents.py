"""What a JSON document must be for jobu to store it on every backend, and why one was refused;
and the strict checks of the few fields jobu reads from documents that come from outside (a Kafka
record's envelope and message, a work message), which say what is wrong as pydantic would.

Params arrive from Kafka records and from operators; they are stored as JSON on PostgreSQL
(jsonb), MySQL/MariaDB (JSON) and SQLite (text). A document any of those refuses, or that the
worker could not read back, is refused at the edge with a reason instead of failing a batch:
- a NUL character (PostgreSQL's text and jsonb cannot hold U+0000);
- a lone surrogate (\\ud800 in JSON is not a Unicode character; jsonb refuses it);
- NaN or Infinity (not JSON; 1e400 parses to Infinity);
- nesting deeper than MAX_DEPTH (MySQL's JSON stops at 100 levels; Python's parser near 1,000);
- more than MAX_PARAMS_BYTES once serialized.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

# Params are stored as JSON and travel in SQS only by reference, but an unbounded document
# would still bloat rows, logs and handler memory: refuse anything larger than SQS's own limit.
MAX_PARAMS_BYTES = 256 * 1024

MAX_DEPTH = 64


class DocumentError(ValueError):
    """The document cannot be stored; the message says why, in words an operator can act on."""


def _refuse_constant(name: str) -> Any:
    raise DocumentError(f"value is not JSON: {name} is not a JSON number")


def parse_json(text: str) -> Any:
    """json.loads, with every way it can fail turned into a DocumentError."""
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise DocumentError(f"value is nested too deeply (the limit is {MAX_DEPTH} levels)") from None
    except DocumentError:
        raise
    except ValueError as error:
        raise DocumentError(f"value is not JSON: {error}") from None


def _text_fault(text: str) -> str | None:
    """What keeps a string from being stored, or None; checked at C speed (a batch holds many)."""
    if "\x00" in text:
        return "contains a NUL character (U+0000), which the job store cannot hold"
    try:
        text.encode("utf-8")  # lone surrogates are the only code points UTF-8 cannot encode
    except UnicodeEncodeError:
        return "contains a lone surrogate (U+D800-U+DFFF), which is not valid Unicode"
    return None


def text_problem(text: str, where: str) -> str | None:
    """Why a string (a value, a key, a handler name) cannot be stored, or None."""
    fault = _text_fault(text)
    return None if fault is None else f"{where} {fault}"


def _path(parts: tuple[str | int, ...]) -> str:
    return "params" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def _children(value: Any, parts: tuple[str | int, ...]) -> list[tuple[Any, tuple[str | int, ...]]]:
    if isinstance(value, dict):
        return [(item, (*parts, str(key))) for key, item in value.items()]
    if isinstance(value, list):
        return [(item, (*parts, index)) for index, item in enumerate(value)]
    return []


def _node_problem(value: Any, parts: tuple[str | int, ...]) -> str | None:
    if len(parts) > MAX_DEPTH:
        return f"params are nested deeper than {MAX_DEPTH} levels"
    # the path is spelled out only for a problem: most documents have none
    if isinstance(value, dict):
        for key in value:
            fault = _text_fault(str(key))
            if fault:
                return f"a key in {_path(parts)} {fault}"
    if isinstance(value, str):
        fault = _text_fault(value)
        return None if fault is None else f"{_path(parts)} {fault}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{_path(parts)} is {value}, which is not a JSON number"
    return None


# json.dumps (ASCII only) writes a character of UTF-8 text in at most 6 bytes (a control
# character as \u0001; others in 6, or 12 for 4 bytes of UTF-8): a document parsed from text
# of n bytes is at most 6n bytes once serialized again.
_MAX_GROWTH = 6


def storage_problem(
    document: Any, *, limit: int = MAX_PARAMS_BYTES, parsed_from_bytes: int | None = None
) -> str | None:
    """Why `document` cannot be stored, or None when it can. Walks it without recursion.

    `parsed_from_bytes`: the length of the JSON text the document was parsed from (or of a text
    holding it), when known; a text that short cannot make a document over the limit, so it is not
    serialized again to be measured (a Kafka batch's every record)."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(document, ())]
    while stack:
        value, parts = stack.pop()
        problem = _node_problem(value, parts)
        if problem:
            return problem
        stack += _children(value, parts)
    if parsed_from_bytes is not None and parsed_from_bytes * _MAX_GROWTH <= limit:
        return None
    size = len(json.dumps(document, separators=(",", ":")).encode())
    if size > limit:
        return f"params are {size} bytes; the limit is {limit}"
    return None


class FieldError(ValueError):
    """One field of a document from outside is missing or wrong; `message` says how."""

    def __init__(self, field: str, message: str, *, missing: bool = False) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message, self.missing = field, message, missing


_REQUIRED: Any = object()


def _present(document: Mapping[str, Any], name: str, default: Any) -> tuple[bool, Any]:
    """(True, value) when the field has a value to check, else (False, its default)."""
    if name not in document:
        if default is _REQUIRED:
            raise FieldError(name, "Field required", missing=True)
        return False, default
    value = document[name]
    if value is None and default is None:  # an optional field given as null
        return False, None
    return True, value


def strict_int(
    document: Mapping[str, Any], name: str, *, ge: int, le: int, default: int | None = _REQUIRED
) -> int | None:
    """A JSON integer in [ge, le]: not a boolean, a fraction or a numeric string."""
    found, value = _present(document, name, default)
    if not found:
        return default
    if not isinstance(value, int) or isinstance(value, bool):
        raise FieldError(name, "Input should be a valid integer")
    if value < ge:
        raise FieldError(name, f"Input should be greater than or equal to {ge}")
    if value > le:
        raise FieldError(name, f"Input should be less than or equal to {le}")
    return value


def _characters(count: int) -> str:
    return f"{count} character" + ("" if count == 1 else "s")


def strict_str(
    document: Mapping[str, Any],
    name: str,
    *,
    min_length: int,
    max_length: int,
    pattern: str | None = None,
    default: str | None = _REQUIRED,
) -> str | None:
    found, value = _present(document, name, default)
    if not found:
        return default
    if not isinstance(value, str):
        raise FieldError(name, "Input should be a valid string")
    if len(value) < min_length:
        raise FieldError(name, f"String should have at least {_characters(min_length)}")
    if len(value) > max_length:
        raise FieldError(name, f"String should have at most {_characters(max_length)}")
    # fullmatch: `$` alone also matches before a trailing newline ("key\n" would pass)
    if pattern is not None and not re.fullmatch(pattern, value):
        raise FieldError(name, f"String should match pattern '{pattern}'")
    return value


def strict_dict(
    document: Mapping[str, Any], name: str, *, default: dict[str, Any] | None = _REQUIRED
) -> dict[str, Any] | None:
    found, value = _present(document, name, default)
    if not found:
        return default
    if not isinstance(value, dict):
        raise FieldError(name, "Input should be a valid dictionary")
    return value
