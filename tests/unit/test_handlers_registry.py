"""The handler registry, the manifest the dispatchers read, and the worker's cold-start imports."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal

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
    assert (params.action, params.id, params.input_path) == ("read", 3, "/tmp/x.csv")
    assert params.model_dump(exclude_unset=True) == {"id": 3, "input_path": "/tmp/x.csv"}
    assert params.model_dump() == {
        "action": "read",
        "id": 3,
        "name": None,
        "value": None,
        "input_path": "/tmp/x.csv",
    }
    result = HandlerResult(count=2, elapsed_ms=1.5)
    assert result.model_dump()["elapsed_ms"] == 1.5
    assert result.success is True


def test_handler_params_own_fields_are_checked() -> None:
    for bad, problem in (
        ({"id": "3"}, "params.id must be integer"),
        ({"action": 1}, "params.action must be"),
    ):
        with pytest.raises(ValueError, match=problem):
            HandlerParams.model_validate(bad)
    with pytest.raises(ValueError, match="params must be an object"):
        HandlerParams.model_validate(["a"])


def test_a_hostile_key_never_hides_a_method_or_private_state() -> None:
    params = HandlerParams(model_dump="x", _fields="y", get=1, action="write")
    assert params.action == "write"
    assert params.get("model_dump") == "x"
    assert params.model_dump()["_fields"] == "y"
    with pytest.raises(AttributeError):
        _ = params.missing


def test_declared_defaults_and_json_values() -> None:
    class Declared(HandlerParams):
        seed: int = 0
        rate: float

    assert (Declared().seed, Declared(seed=4).seed, Declared(rate=0.5).rate) == (0, 4, 0.5)
    assert Declared().model_dump() == {"action": "read", "id": None, "name": None, "value": None, "seed": 0}
    when = datetime(2026, 12, 7, 18, 0, tzinfo=UTC)
    dumped = HandlerResult(data={"at": when, "amount": Decimal("1.50"), "tags": ("a",)}).model_dump(
        mode="json"
    )
    assert dumped["data"] == {"at": "2026-12-07T18:00:00+00:00", "amount": "1.50", "tags": ["a"]}


def test_a_result_is_checked_whatever_the_handler_returned() -> None:
    assert HandlerResult.model_validate({"count": 2}).count == 2
    for bad, problem in (
        (None, "a handler returns a HandlerResult, not NoneType"),
        ({"success": "yes"}, "result.success must be bool"),
        (HandlerResult(count=True), "result.count must be int or null"),
    ):
        with pytest.raises(ValueError, match=problem):
            HandlerResult.model_validate(bad)


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
