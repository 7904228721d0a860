"""A handler's limits as its code declares them and the manifest carries them, checked as an
operator's request is (jobu.limits)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobu import limits as limits_module
from jobu.documents import FieldError
from jobu.handler_manifest import manifest_from_registry, render
from jobu.handlers import BaseHandler, HandlerParams, HandlerResult, get_handler, handler
from jobu.limits import Limits, Rate


def test_code_limits_are_checked_like_a_request() -> None:
    with pytest.raises(FieldError) as bad:
        Limits(concurrency=0)
    assert bad.value.field == "concurrency"
    with pytest.raises(FieldError) as burst:
        Limits(rate=Rate(limit=2, period_seconds=60, burst=3))
    assert burst.value.field == "rate.burst"
    assert Limits.parse({"rate": {"limit": 4, "period_seconds": 60}}).rate == Rate(4, 60, 1)
    assert Rate(4, 60).interval_seconds == 15


def test_the_decorator_records_limits_and_the_manifest_carries_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    declared = Limits(concurrency=5, per_key_concurrency=2, rate=Rate(limit=10, period_seconds=60, burst=2))

    @handler("test_limits_declared", limits=declared)
    class Limited(BaseHandler):
        async def execute(self, params: HandlerParams) -> HandlerResult:
            return HandlerResult()

    assert get_handler("test_limits_declared").limits == declared
    manifest = manifest_from_registry()
    assert manifest["limits"]["test_limits_declared"] == declared.to_json()
    # the store reads them back from the manifest the functions ship
    written = tmp_path / "handler_manifest.json"
    written.write_text(render(manifest))
    monkeypatch.setattr(limits_module, "MANIFEST_PATH", written)
    limits_module._manifest_limits.cache_clear()
    try:
        assert limits_module.default_limits("test_limits_declared") == declared
        assert limits_module.default_limits("sample") is None
    finally:
        limits_module._manifest_limits.cache_clear()
    assert json.loads(written.read_text())["limits"]["test_limits_declared"]["rate"]["burst"] == 2
