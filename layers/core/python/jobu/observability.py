"""The Powertools Logger, Metrics and Tracer every function shares, and jobu's metric names."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from jobu import constants

logger = Logger(service=os.environ.get(constants.POWERTOOLS_SERVICE_NAME) or "jobu")
metrics = Metrics(namespace=os.environ.get(constants.POWERTOOLS_METRICS_NAMESPACE) or "jobu")
tracer = Tracer()

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

__all__ = ["MetricUnit", "logger", "metrics", "tracer"]


def count(name: str, value: int = 1) -> None:
    # Zero is recorded too: an empty tick then says "0 dispatched" (a datapoint, not a gap, for
    # alarms), and every invocation has metrics to flush (Powertools warns on an empty flush).
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def seconds(name: str, value: float) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Seconds, value=value)
