"""The handler registry, the manifest the dispatchers read, and the worker's cold-start imports."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from jobu.errors import UnknownHandlerError
from jobu.handler_manifest import MANIFEST_PATH
from jobu.handlers import BaseHandler, HandlerParams, HandlerResult, get_handler, handler


def test_manifest_matches_the_registry() -> None:
    # fails when a handler is added without `make manifest`: the dispatchers would refuse it.
    # A fresh interpreter, as `make manifest` uses: tests register handlers of their own here.
    out = subprocess.run(
        [sys.executable, "-m", "jobu.handler_manifest"], capture_output=True, text=True, check=True
    )
    assert json.loads(MANIFEST_PATH.read_text())["handlers"] == out.stdout.split()


def test_registering_a_non_handler_is_refused() -> None:
    with pytest.raises(TypeError, match="must decorate a BaseHandler subclass"):
        handler("not_a_class")(object)  # type: ignore[arg-type]


def test_one_name_one_handler() -> None:
    @handler("test_registry_once")
    class First(BaseHandler):
        async def execute(self, params: HandlerParams) -> HandlerResult:
            return HandlerResult()

    with pytest.raises(ValueError, match="registered twice"):

        @handler("test_registry_once")
        class Second(BaseHandler):
            async def execute(self, params: HandlerParams) -> HandlerResult:
                return HandlerResult()

    assert get_handler("test_registry_once") is First


def test_unknown_handler_error() -> None:
    with pytest.raises(UnknownHandlerError, match="no handler is registered under 'missing'"):
        get_handler("missing")


def test_handler_params_and_result_keep_extra_keys() -> None:
    params = HandlerParams.model_validate({"id": 3, "input_path": "/tmp/x.csv"})
    assert (params.action, params.id, params.model_extra) == ("read", 3, {"input_path": "/tmp/x.csv"})
    result = HandlerResult(count=2, elapsed_ms=1.5)  # type: ignore[call-arg]
    assert result.model_dump()["elapsed_ms"] == 1.5
    assert result.success is True


@pytest.mark.parametrize(
    "module", ["functions.worker.app", "functions.queue_dispatcher.app", "functions.cron_dispatcher.app"]
)
def test_entry_points_do_not_import_pandas_or_pyarrow(module: str) -> None:
    code = (
        f"import sys, {module}; print(sorted(m for m in ('pandas', 'pyarrow', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_dispatchers_do_not_import_the_handlers() -> None:
    code = "import sys, functions.queue_dispatcher.app; print('jobu_handlers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
