"""The params of handlers that declare every field they take: strict JSON Schemas, without pydantic
(the default pool's handlers; the pipeline's pydantic models are jobu_handlers.model_params')."""

from __future__ import annotations

from typing import Any

from jobu.handlers import BASE_PARAMS_PROPERTIES

# what every strict handler lets through besides its own fields: the worker's follow-up links
FOLLOW_UP_PROPERTIES: dict[str, Any] = {
    "on_success": {
        "anyOf": [{"additionalProperties": True, "type": "object"}, {"type": "null"}],
        "default": None,
        "description": "the next run ({handler_name, params}); run by the worker",
        "title": "On Success",
    },
    "on_failure": {
        "anyOf": [{"additionalProperties": True, "type": "object"}, {"type": "null"}],
        "default": None,
        "description": (
            "the run to make when this one ends FAILED or TIMEOUT for good ({handler_name, params})"
        ),
        "title": "On Failure",
    },
    "failed_run": {
        "anyOf": [{"additionalProperties": True, "type": "object"}, {"type": "null"}],
        "default": None,
        "description": (
            "in an on_failure run: the run that failed ({id, handler_name, status, error_message})"
        ),
        "title": "Failed Run",
    },
}


def strict_schema(title: str, description: str, **properties: dict[str, Any]) -> dict[str, Any]:
    """A params schema of HandlerParams' optional fields, `on_success`, `on_failure` (and
    `failed_run`, which the worker puts in an on_failure run's params), `properties` (over those),
    and nothing unknown: a typo, or a key meant to reach something (`database_url`), is refused at
    the edge and by the worker. A property without a default is required."""
    merged = BASE_PARAMS_PROPERTIES | FOLLOW_UP_PROPERTIES | properties
    schema: dict[str, Any] = {
        "additionalProperties": False,
        "description": description,
        "properties": merged,
        "title": title,
        "type": "object",
    }
    required = [name for name, prop in merged.items() if "default" not in prop]
    if required:
        schema["required"] = required
    return schema
