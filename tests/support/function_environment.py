"""The environment template.yaml gives jobu's functions, for the tests and benchmarks that call their
entry points. The template is the one place these settings are written: a setting it adds reaches
every caller, and none copies a value that may drift. The caller names what replaces a deployment's
places on this machine (JOBU_DATABASE_URL, the queues) and any setting it means to change."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from jobu_local.template.reader import LocalTemplate

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
# A deployment's database (from its secret) and queues: the caller's JOBU_DATABASE_URL and queues
# stand in for them, so the template's local defaults for these are left out.
DEPLOYMENT_PLACES = frozenset(
    {
        "JOBU_DATABASE_SECRET_ARN",
        "JOBU_DATABASE_ENGINE",
        "JOBU_DATABASE_HOST",
        "JOBU_DATABASE_PORT",
        "JOBU_DATABASE_NAME",
        "JOBU_DATABASE_TLS",
        "JOBU_DATABASE_CA_BUNDLE",
        "JOBU_DATABASE_URL",
        "JOBU_WORK_QUEUE_URL",
        "JOBU_DEAD_LETTER_QUEUE_URL",
    }
)


@cache
def _template_settings() -> dict[str, str]:
    # every function's variables in one: a worker's setting is read by the worker alone
    merged: dict[str, str] = {}
    for function in LocalTemplate.load(TEMPLATE).functions():
        merged |= function.config.environment
    return {name: value for name, value in merged.items() if name not in DEPLOYMENT_PLACES}


def function_environment(**settings: str) -> dict[str, str]:
    """The template's settings with its parameters' defaults, then `settings` over them."""
    return _template_settings() | settings
