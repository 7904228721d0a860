"""jobu.run_metrics writes its per-handler EMF documents itself: each must be the document
Powertools' single_metric prints for the same metric (CloudWatch and the local log format read it)."""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools.metrics import single_metric

from jobu import run_metrics
from jobu.models import ExecutionStatus
from jobu.observability import NAMESPACE, RUNS_ENDED, RUNS_WAITING, SERVICE, MetricUnit


def powertools(name: str, unit: MetricUnit, value: float, dimensions: dict[str, str]) -> None:
    with single_metric(name=name, unit=unit, value=value, namespace=NAMESPACE) as metric:
        for key, dimension in dimensions.items():
            metric.add_dimension(name=key, value=dimension)


def documents(out: str) -> list[dict[str, object]]:
    found = [json.loads(line) for line in out.splitlines()]
    for document in found:
        timestamp = document["_aws"].pop("Timestamp")
        assert isinstance(timestamp, int)
        assert timestamp > 1_700_000_000_000  # milliseconds
    return found


@pytest.mark.parametrize("handler", ["sample", "no_such_handler"])
def test_per_handler_documents_are_single_metrics(capsys: pytest.CaptureFixture[str], handler: str) -> None:
    expected_handler = run_metrics.handler_dimension(handler)
    run_metrics.run_ended(handler, ExecutionStatus.TIMEOUT)
    run_metrics.runs_waiting(handler, 7)
    ours = documents(capsys.readouterr().out)

    powertools(
        RUNS_ENDED,
        MetricUnit.Count,
        1,
        {"service": SERVICE, "handler": expected_handler, "status": "TIMEOUT"},
    )
    powertools(RUNS_WAITING, MetricUnit.Count, 7, {"service": SERVICE, "handler": expected_handler})
    theirs = documents(capsys.readouterr().out)

    assert ours == theirs
    assert [document["handler"] for document in ours] == [expected_handler] * 2
