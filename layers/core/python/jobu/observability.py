"""The Powertools Logger, Metrics and Tracer every function shares, and jobu's metric names."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from jobu import constants

SERVICE = os.environ.get(constants.POWERTOOLS_SERVICE_NAME) or "jobu"
NAMESPACE = os.environ.get(constants.POWERTOOLS_METRICS_NAMESPACE) or "jobu"
logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE)
# An invocation may record no metric (an admin request that reads, a worker that finds only a
# duplicate delivery): expected, so not a UserWarning in the function's log every time (Powertools'
# documented way to say so).
warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)

DISPATCHED = "ExecutionsDispatched"
REQUEUED = "ExecutionsRequeued"
SEND_FAILED = "QueueSendFailures"
REJECTED = "EventsRejected"
SCHEDULE_EVENTS_REFUSED = "ScheduleEventsRefused"
DISPATCH_LAG = "DispatchLagSeconds"
SKIPPED_OVERLAP = "RunsSkippedOverlap"
SUCCEEDED = "ExecutionsSucceeded"
FAILED = "ExecutionsFailed"
TIMED_OUT = "ExecutionsTimedOut"
CANCELLED = "ExecutionsCancelled"
RETRIED = "ExecutionsRetried"
ABANDONED = "ExecutionsAbandoned"
DEAD_LETTERED = "WorkMessagesDeadLettered"
DEDUPLICATED = "RunsDeduplicated"
EXPIRED = "ExecutionsExpired"
# runs that became runnable and had to wait for their handler's limits (jobu.store.limits)
THROTTLED = "RunsThrottled"
TICK_PART_FAILED = "TickPartFailures"
# per handler (jobu.run_metrics): dimensions service, handler (and status for RUNS_ENDED)
RUNS_ENDED = "RunsEnded"
START_LATENCY = "StartLatencySeconds"
# runs waiting for their handler's limits, per handler, at each tick (a gauge)
RUNS_WAITING = "RunsWaiting"

__all__ = ["MetricUnit", "logger", "metrics", "traced"]


def traced[Handler: Callable[..., object]](handler: Handler) -> Handler:
    """The entry point under Powertools Tracer (X-Ray subsegments for the invocation and each AWS
    call), unless POWERTOOLS_TRACE_DISABLED is true: then the X-Ray SDK is not even imported.

    Importing it costs every cold start about 200 ms (it builds two botocore clients for its
    sampler), which Lambda's own active tracing does not need: the invocation is traced either way.
    """
    if _tracing_disabled():
        return handler
    from aws_lambda_powertools import Tracer

    return cast(Handler, Tracer().capture_lambda_handler(handler))


def annotate_trace(key: str, value: str) -> None:
    """An X-Ray annotation on the invocation's subsegment, when Powertools Tracer is on (`traced`)."""
    if _tracing_disabled():
        return
    from aws_lambda_powertools import Tracer

    Tracer().put_annotation(key=key, value=value)


def _tracing_disabled() -> bool:
    setting = os.environ.get(constants.POWERTOOLS_TRACE_DISABLED, "")
    return setting.strip().lower() in ("1", "true", "yes", "on")


def count(name: str, value: int = 1) -> None:
    # Zero is recorded too: an empty tick then says "0 dispatched" (a datapoint, not a gap, for
    # alarms), and every invocation has metrics to flush (Powertools warns on an empty flush).
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def seconds(name: str, value: float) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Seconds, value=value)
