"""jobu's metrics per handler: how runs end and how long they wait to start, by handler name.

A dimension value is a metric of its own in CloudWatch (and billed as one), so the handler
dimension takes a bounded set of values: the names of the deployed handlers (the manifest), and
`other` for any name it does not know (a Kafka record can name anything; it is rejected, but a run
of a handler removed since it was queued can still end). Each is written at once as one EMF
document, the one Powertools' single_metric prints: the invocation's other metrics have no handler
dimension. Written here as a plain dict (single_metric builds a metrics manager for each, whose
checks of the unit lists cost a worker about as much per run as its log lines).

`StartLatencySeconds` is scheduled-to-started: from a cron run's slot (its first attempt), else from
when the run became runnable (created, or its retry's delay over), to its claim by a worker. It is
written twice: without the handler, for the p50/p99 of all runs, and with it.
"""

from __future__ import annotations

import json
import time
from datetime import datetime

from jobu.handler_manifest import known_handler_names
from jobu.models import Execution, ExecutionStatus
from jobu.observability import (
    NAMESPACE,
    RUNS_ENDED,
    RUNS_WAITING,
    SERVICE,
    START_LATENCY,
    MetricUnit,
    seconds,
)

OTHER_HANDLER = "other"


def handler_dimension(handler_name: str) -> str:
    return handler_name if handler_name in known_handler_names() else OTHER_HANDLER


def run_ended(handler_name: str, status: ExecutionStatus) -> None:
    _by_handler(RUNS_ENDED, MetricUnit.Count, 1, handler_name, status=status.value)


def runs_waiting(handler_name: str, waiting: int) -> None:
    """How many of the handler's runs wait for its limits (the tick's sweep records it)."""
    _by_handler(RUNS_WAITING, MetricUnit.Count, waiting, handler_name)


def run_started(execution: Execution, started_at: datetime) -> None:
    since = execution.available_at
    if execution.retry_count == 0 and execution.scheduled_time is not None:
        since = execution.scheduled_time
    latency = max(0.0, (started_at - since).total_seconds())
    seconds(START_LATENCY, latency)
    _by_handler(START_LATENCY, MetricUnit.Seconds, latency, execution.handler_name)


def _by_handler(name: str, unit: MetricUnit, value: float, handler_name: str, **extra: str) -> None:
    dimensions = {"service": SERVICE, "handler": handler_dimension(handler_name), **extra}
    document = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [list(dimensions)],
                    "Metrics": [{"Name": name, "Unit": unit.value}],
                }
            ],
        },
        **dimensions,
        name: [float(value)],
    }
    print(json.dumps(document, separators=(",", ":")))
