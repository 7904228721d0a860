"""Every error `jobu` meets is one line, `jobu: ...`: its own errors share one base that `main`
catches, and anything else is said in one line too (the traceback only with --debug)."""

from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil
from typing import Any

import pytest

import jobu_local
from jobu_local.commands import cli, health
from jobu_local.errors import JobuToolError, Refusal


def _tool_exceptions() -> list[type[BaseException]]:
    """The exception classes of jobu_local, but those the embedded emulator answers AWS clients with."""
    from moto.core.exceptions import ServiceException

    found = []
    for module_info in pkgutil.walk_packages(jobu_local.__path__, "jobu_local."):
        if module_info.name.endswith("__main__"):
            continue
        module = importlib.import_module(module_info.name)
        found += [
            value
            for value in vars(module).values()
            if inspect.isclass(value)
            and issubclass(value, BaseException)
            and not issubclass(value, ServiceException)
            and value.__module__ == module.__name__
        ]
    return found


def test_every_error_of_the_tools_has_the_one_base() -> None:
    errors = _tool_exceptions()
    assert len(errors) >= 15  # the tools' own: CommandError, TargetError, AdminError, RuntimeStartError, ...
    assert [error.__qualname__ for error in errors if not issubclass(error, JobuToolError)] == []


def _main_with(raised: Exception, monkeypatch: pytest.MonkeyPatch, *argv: str) -> int:
    """`jobu [ARGV] health`, whose command raises `raised`."""

    def run(_args: argparse.Namespace) -> int:
        raise raised

    monkeypatch.setattr(health, "cmd_health", run)
    return cli.main([*argv, "health"])


class NewFailure(JobuToolError):
    """An error class added after main was written."""


class NewRefusal(Refusal):
    pass


@pytest.mark.parametrize(
    ("raised", "status", "line"),
    [
        (
            NewFailure("the broker is gone:\n  start it again"),
            1,
            "jobu: the broker is gone: start it again\n",
        ),
        (NewRefusal("--until is in the past"), 2, "jobu: --until is in the past\n"),
        (
            KeyError("surprise"),
            1,
            "jobu: unexpected error: KeyError: 'surprise' (`jobu --debug ...` shows the traceback)\n",
        ),
    ],
)
def test_an_error_is_one_line_and_its_status(
    raised: Exception,
    status: int,
    line: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _main_with(raised, monkeypatch) == status
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", line)


def test_debug_adds_the_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _main_with(KeyError("surprise"), monkeypatch, "--debug") == 1
    error: Any = capsys.readouterr().err
    assert error.startswith("Traceback (most recent call last):")
    assert error.endswith("KeyError: 'surprise'\njobu: unexpected error: KeyError: 'surprise'\n")
