"""The template's resources (queues, log groups, buckets) created in the emulator, LocalStack or AWS."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from jobu_local.aws.endpoint import AwsTarget
from jobu_local.template.intrinsics import TemplateError
from jobu_local.template.reader import LOG_GROUP, S3_BUCKET, SQS_QUEUE, LocalTemplate, NamingProvider

QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
)


@dataclass
class EmulatorProvider(NamingProvider):
    """Resolves Refs/GetAtts of queues by creating them in the emulator, once, on first use."""

    template: LocalTemplate
    sqs: Any
    queue_urls: dict[str, str] = field(default_factory=dict)
    queue_arns: dict[str, str] = field(default_factory=dict)
    s3: Any = None
    buckets: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        super().__init__(self.template)

    def ref(self, logical_id: str) -> Any:
        if self.template.resource(logical_id)["Type"] == SQS_QUEUE:
            return self.ensure_queue(logical_id)
        return super().ref(logical_id)

    def get_att(self, logical_id: str, attribute: str) -> Any:
        if self.template.resource(logical_id)["Type"] == SQS_QUEUE:
            self.ensure_queue(logical_id)
            if attribute == "Arn":
                return self.queue_arns[logical_id]
            if attribute == "QueueUrl":
                return self.queue_urls[logical_id]
        return super().get_att(logical_id, attribute)

    def bucket_for_arn(self, arn: str) -> str | None:
        """The name of the template's bucket with this ARN, created in the emulator; None if none."""
        for logical_id in self.template.resources(S3_BUCKET):
            name = self.template.bucket_name(logical_id)
            if arn == f"arn:aws:s3:::{name}":
                if logical_id not in self.buckets:
                    with contextlib.suppress(Exception):
                        self.s3.create_bucket(Bucket=name)
                    self.buckets.add(logical_id)
                return name
        return None

    def ensure_queue(self, logical_id: str) -> str:
        if logical_id not in self.queue_urls:
            properties = self.template.resolve(self.template.resource(logical_id).get("Properties", {}))
            attributes = {
                name: _attribute_text(properties[name]) for name in QUEUE_ATTRIBUTES if name in properties
            }
            if "RedrivePolicy" in properties:
                attributes["RedrivePolicy"] = _json_text(properties["RedrivePolicy"])
            if "RedriveAllowPolicy" in properties:
                attributes["RedriveAllowPolicy"] = _json_text(properties["RedriveAllowPolicy"])
            name = self.template.queue_name(logical_id)
            url = self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
            arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            self.queue_urls[logical_id], self.queue_arns[logical_id] = url, arn
        return self.queue_urls[logical_id]


def _attribute_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _json_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def create_resources(template: LocalTemplate, target: AwsTarget) -> EmulatorProvider:
    """Create the template's queues (dead-letter queues first, through their ARNs) and log groups."""
    provider = EmulatorProvider(template=template, sqs=target.client("sqs"), s3=target.client("s3"))
    template.use_provider(provider)
    for logical_id in template.queues():
        provider.ensure_queue(logical_id)
    logs = target.client("logs")
    for group in template.log_groups():
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_group(logGroupName=group)
    for logical_id, resource in template.resources(LOG_GROUP).items():
        retention = template.resolve(resource.get("Properties", {}).get("RetentionInDays"))
        name = template.resolve(resource.get("Properties", {}).get("LogGroupName"))
        if retention is not None and name is not None:
            logs.put_retention_policy(logGroupName=name, retentionInDays=int(retention))
        elif name is None:
            raise TemplateError(f"log group {logical_id} has no LogGroupName; the runtime cannot name it")
    return provider
