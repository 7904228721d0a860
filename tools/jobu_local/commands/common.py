"""What the command modules share: the refusal they raise, common options, JSON objects given on
the command line, the handler names."""

from __future__ import annotations

import json
from typing import Any

from jobu_local.errors import Refusal


class CommandError(Refusal):
    """A refusal with a message for the user (exit status 2)."""


def json_object(text: str, where: str, refusal: type[Exception] = CommandError) -> dict[str, Any]:
    """The JSON object `text` holds, or `refusal` saying what is wrong with `where` (a flag, a file)."""
    try:
        value = json.loads(text)
    except ValueError as error:
        raise refusal(f"{where} is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise refusal(f"{where} must be a JSON object, not {type(value).__name__}")
    return value


def known_handlers() -> frozenset[str]:
    from jobu.handler_manifest import known_handler_names

    return known_handler_names()
