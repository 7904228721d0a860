"""The stack's CloudWatch dashboard against the code: every metric it plots is one the code emits,
with the dimensions the code gives it, and every AWS metric names a resource of the template.

The code's metric names are read from the code itself: each call that records a metric (`count`,
`seconds`, jobu.run_metrics' `_by_handler`) in the core layer, its name argument resolved to
jobu.observability's constant. The per-handler metrics' dimensions are those of the EMF documents
jobu.run_metrics prints.
"""

from __future__ import annotations

import ast
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from jobu import constants, observability
from jobu.clock import utcnow
from jobu.models import Execution, ExecutionStatus
from jobu.run_metrics import OTHER_HANDLER, handler_dimension, run_ended, run_started
from jobu_local.template.cfn_yaml import load_template

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "layers/core/python/jobu"
TEMPLATE = load_template(ROOT / "template.yaml")
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
(DASHBOARD,) = [v["Properties"] for v in RESOURCES.values() if v["Type"] == "AWS::CloudWatch::Dashboard"]
NAMESPACE = "JOBU_NAMESPACE"
SERVICE = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"][constants.POWERTOOLS_SERVICE_NAME]
RECORDING_CALLS = {"count", "seconds", "_by_handler"}
AWS_METRICS = {
    ("AWS/Lambda", "FunctionName"): {"Errors", "Duration", "Throttles", "OffsetLag"},
    ("AWS/SQS", "QueueName"): {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"},
}
RESOURCE_TYPES = {"FunctionName": "AWS::Serverless::Function", "QueueName": "AWS::SQS::Queue"}


def _substituted(text: str) -> str:
    """The body with each ${...} replaced: the namespace parameter by a marker, a resource by `ref:Id`."""

    def value(found: re.Match[str]) -> str:
        name = found.group(1)
        if name == "MetricsNamespace":
            return NAMESPACE
        if name.startswith("AWS::"):
            return name
        logical_id = name.split(".")[0]
        assert logical_id in RESOURCES, f"the dashboard names {name}, not a resource of the template"
        return f"ref:{logical_id}"

    return re.sub(r"\$\{([^}]+)\}", value, text)


BODY = json.loads(_substituted(DASHBOARD["DashboardBody"]["Fn::Sub"]))


def plotted() -> tuple[list[tuple[str, str, dict[str, str]]], list[str]]:
    """(namespace, metric, dimensions) of each metric row (CloudWatch's `...` repeats the row above),
    and each expression."""
    rows: list[tuple[str, str, dict[str, str]]] = []
    expressions: list[str] = []
    for widget in BODY["widgets"]:
        if widget["type"] != "metric":
            continue
        previous: list[Any] = []
        for row in widget["properties"]["metrics"]:
            values = [v for v in row if not isinstance(v, dict)]
            if not values:
                expressions += [v["expression"] for v in row if "expression" in v]
                continue
            if values[0] == "...":
                values = previous[: len(previous) - len(values) + 1] + values[1:]
            previous = values
            namespace, name, *pairs = values
            rows.append((namespace, name, dict(zip(pairs[::2], pairs[1::2], strict=True))))
    return rows, expressions


def emitted_metric_names() -> set[str]:
    """The metrics the core records: the observability constants named in each recording call."""
    names: set[str] = set()
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            called = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            if called not in RECORDING_CALLS:
                continue
            for name in ast.walk(node.args[0]):
                if isinstance(name, ast.Name) and isinstance(getattr(observability, name.id, None), str):
                    names.add(getattr(observability, name.id))
    return names


def handler_dimension_sets(capsys: pytest.CaptureFixture[str]) -> dict[str, list[str]]:
    """{metric: its dimension names} as jobu.run_metrics prints them."""
    now = utcnow()
    run = Execution.from_row({
        "id": 1, "job_id": None, "handler_name": "sample", "scheduled_time": None, "status": "RUNNING",
        "params": {}, "param_source": "event", "max_retry": 0, "timeout_seconds": 60, "retry_count": 0,
        "available_at": now - timedelta(seconds=2), "started_at": now, "finished_at": None,
        "deadline_at": None, "queued_at": None, "error_message": None, "result": None,
        "source_topic": None, "source_partition": None, "source_offset": None,
        "parent_execution_id": None, "created_at": now,
    })  # fmt: skip
    capsys.readouterr()
    run_ended("sample", ExecutionStatus.FAILED)
    run_started(run, now)
    observability.metrics.clear_metrics()  # the service-only latency waits for the invocation's flush
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    found: dict[str, list[str]] = {}
    for document in documents:
        for emf in document["_aws"]["CloudWatchMetrics"]:
            for metric in emf["Metrics"]:
                found[metric["Name"]] = emf["Dimensions"][0]
    return found


def test_every_jobu_metric_plotted_is_one_the_code_emits_with_its_dimensions() -> None:
    rows, _ = plotted()
    ours = [(name, dimensions) for namespace, name, dimensions in rows if namespace == NAMESPACE]
    emitted = emitted_metric_names()

    assert {"ExecutionsFailed", "DispatchLagSeconds", "StartLatencySeconds", "RunsEnded"} <= emitted
    assert ours
    for name, dimensions in ours:
        assert name in emitted, f"the dashboard plots {name}, which no code records"
        assert dimensions == {"service": SERVICE}, name  # Powertools' service dimension, as the functions run


def test_every_search_reads_a_per_handler_metric_as_the_code_prints_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, expressions = plotted()
    dimension_sets = handler_dimension_sets(capsys)
    searches = [
        re.fullmatch(r"""SEARCH\('\{([^}]*)\} MetricName="(\w+)"', '(\w+)', \d+\)""", expression)
        for expression in expressions
    ]

    assert expressions
    for search in searches:
        assert search is not None
        namespace, *dimensions = search.group(1).split(",")
        assert namespace == NAMESPACE
        assert search.group(2) in emitted_metric_names()
        assert dimensions == dimension_sets[search.group(2)]  # SEARCH matches the exact dimension set


def test_aws_metrics_name_the_templates_functions_and_queues() -> None:
    rows, _ = plotted()
    aws = [
        (namespace, name, dimensions) for namespace, name, dimensions in rows if namespace.startswith("AWS/")
    ]
    functions = {k for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::Function"}
    redrives = [
        v["Properties"]["RedrivePolicy"] for v in RESOURCES.values() if "RedrivePolicy" in v["Properties"]
    ]
    dead_letter_queues = {redrive["deadLetterTargetArn"]["Fn::GetAtt"][0] for redrive in redrives}

    for namespace, name, dimensions in aws:
        ((dimension, value),) = dimensions.items()
        assert name in AWS_METRICS[namespace, dimension], (namespace, name)
        assert RESOURCES[value.removeprefix("ref:")]["Type"] == RESOURCE_TYPES[dimension]
    for metric in ("Errors", "Duration", "Throttles"):
        assert {d["FunctionName"] for _, n, d in aws if n == metric} == {f"ref:{f}" for f in functions}
    for metric in ("ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"):
        assert {f"ref:{q}" for q in dead_letter_queues} <= {d["QueueName"] for _, n, d in aws if n == metric}
    assert ("AWS/Lambda", "OffsetLag", {"FunctionName": "ref:QueueDispatcherFunction"}) in aws


def test_the_stack_outputs_the_dashboards_url() -> None:
    url = TEMPLATE["Outputs"]["DashboardUrl"]["Value"]["Fn::Sub"]
    (logical_id,) = [k for k, v in RESOURCES.items() if v["Type"] == "AWS::CloudWatch::Dashboard"]
    assert url.startswith("https://${AWS::Region}.console.aws.amazon.com/cloudwatch/")
    assert url.endswith(f"${{{logical_id}}}")


def test_the_handler_dimension_takes_the_manifests_names_or_other() -> None:
    assert handler_dimension("sample") == "sample"
    assert handler_dimension("pandas_preprocess") == "pandas_preprocess"
    assert handler_dimension("a-name-from-a-hostile-record") == OTHER_HANDLER
