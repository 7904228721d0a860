"""The environment template.yaml gives jobu's functions, for the tests and benchmarks that call their
entry points. The template is the one place these settings are written: a setting it adds reaches
every caller, and none copies a value that may drift. The caller names what replaces a deployment's
places on this machine (JOBU_DATABASE_URL, the queues) and any setting it means to change."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from jobu import constants
from jobu.pools import DEFAULT_POOL, pool_setting
from jobu_local.template.reader import LocalTemplate

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
# A deployment's database (from its secret) and queues: the caller's JOBU_DATABASE_URL and queues
# stand in for them, so the template's local defaults for these are left out (every pool's queues).
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
    }
)
QUEUE_SETTINGS = frozenset({constants.WORK_QUEUE_URL, constants.DEAD_LETTER_QUEUE_URL})


def _is_place(name: str) -> bool:
    found = pool_setting(name)
    return name in DEPLOYMENT_PLACES or (found is not None and found[0] in QUEUE_SETTINGS)


@cache
def _function_settings() -> dict[str, dict[str, str]]:
    return {
        function.logical_id: {
            name: value for name, value in function.config.environment.items() if not _is_place(name)
        }
        for function in LocalTemplate.load(TEMPLATE).functions()
    }


@cache
def _template_settings() -> dict[str, str]:
    # every function's variables in one (a worker's setting is read by the worker alone), but of the
    # workers only the default pool's: each pool's worker sets its own pool and pool size
    merged: dict[str, str] = {}
    for settings in _function_settings().values():
        if settings.get(constants.WORKER_POOL, DEFAULT_POOL) == DEFAULT_POOL:
            merged |= settings
    return merged


def function_environment(*, function: str | None = None, **settings: str) -> dict[str, str]:
    """The template's settings with its parameters' defaults, then `settings` over them: of one
    function (its logical id), or of the functions of the default pool's deployment."""
    chosen = _template_settings() if function is None else _function_settings()[function]
    return chosen | settings
