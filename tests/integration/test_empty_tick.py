"""A tick with nothing due publishes "0 dispatched" instead of Powertools' empty-flush warning."""

from __future__ import annotations

import json
import warnings

import pytest

from tests.support.harness import Harness


def test_an_empty_tick_records_zero_dispatched_and_warns_nothing(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # past pyproject's ignore: any warning is recorded here
        report = harness.invoke_cron({})  # a tick now (the clock), with nothing due

    assert report["dispatched"] == []
    assert [str(warning.message) for warning in caught] == []
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    (document,) = emf
    assert document["ExecutionsDispatched"] == [0.0]
