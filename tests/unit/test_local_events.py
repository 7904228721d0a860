"""The events the local runtime builds validate against Powertools' own parser models."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import (
    EventBridgeModel,
    KafkaMskEventModel,
    KafkaSelfManagedEventModel,
    SqsModel,
)

from jobu_local.aws.kafka.events import KafkaRecord, kafka_event
from jobu_local.aws.scheduler import scheduler_event
from jobu_local.aws.sqs import sqs_event

CLUSTER = "arn:aws:kafka:us-east-1:123456789012:cluster/jobu/abc-1"
MESSAGE = {"handler_name": "sample", "params": {"name": "x"}, "job_id": None}


def _records() -> list[KafkaRecord]:
    value = json.dumps(MESSAGE).encode()
    return [
        KafkaRecord(
            "jobu-events", 0, 5, 1_790_000_000_000, "CREATE_TIME", b"k1", value, (("trace", b"abc"),)
        ),
        KafkaRecord("jobu-events", 0, 6, 1_790_000_000_001, "CREATE_TIME", None, value),
        KafkaRecord("jobu-events", 2, 0, 1_790_000_000_002, "LOG_APPEND_TIME", b"k3", b"not json"),
    ]


def test_msk_event_groups_records_by_topic_partition_and_validates() -> None:
    event = kafka_event(_records(), bootstrap_servers="127.0.0.1:9092", cluster_arn=CLUSTER)

    parsed = parse(event=event, model=KafkaMskEventModel)

    assert set(event["records"]) == {"jobu-events-0", "jobu-events-2"}
    assert parsed.eventSource == "aws:kafka"
    first = parsed.records["jobu-events-0"][0]
    assert first.key == b"k1"
    assert json.loads(str(first.value)) == MESSAGE
    assert first.headers == [{"trace": b"abc"}]
    assert parsed.records["jobu-events-0"][1].key is None
    assert base64.b64decode(event["records"]["jobu-events-2"][0]["value"]) == b"not json"


def test_a_tombstone_arrives_with_a_null_value() -> None:
    tombstone = KafkaRecord("jobu-events", 1, 9, 1_790_000_000_003, "CREATE_TIME", b"k9", None)
    event = kafka_event([tombstone], bootstrap_servers="127.0.0.1:9092", cluster_arn=CLUSTER)
    assert event["records"]["jobu-events-1"][0]["value"] is None


def test_self_managed_kafka_event_validates() -> None:
    event = kafka_event(_records(), bootstrap_servers="127.0.0.1:9092", cluster_arn=None)

    parsed = parse(event=event, model=KafkaSelfManagedEventModel)

    assert parsed.eventSource == "SelfManagedKafka"
    assert parsed.bootstrapServers == ["127.0.0.1:9092"]


def test_sqs_event_validates_with_attributes_as_lambda_passes_them() -> None:
    message = {
        "MessageId": "3f1c",
        "ReceiptHandle": "handle-1",
        "MD5OfBody": "d41d8cd98f00b204e9800998ecf8427e",
        "Body": '{"execution_id": 1, "attempt": 0}',
        "Attributes": {
            "ApproximateReceiveCount": "2",
            "SentTimestamp": "1790000000000",
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1790000000100",
        },
        "MessageAttributes": {"kind": {"StringValue": "work", "DataType": "String"}},
    }
    arn = "arn:aws:sqs:us-east-1:123456789012:jobu-WorkQueue"

    parsed = parse(event=sqs_event([message], queue_arn=arn, region="us-east-1"), model=SqsModel)

    record = parsed.Records[0]
    assert (record.messageId, record.eventSourceARN, record.body) == ("3f1c", arn, message["Body"])
    assert record.attributes.ApproximateReceiveCount == "2"
    assert record.messageAttributes["kind"].stringValue == "work"


def test_scheduler_event_without_input_is_an_eventbridge_scheduled_event() -> None:
    when = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    arn = "arn:aws:scheduler:us-east-1:123456789012:schedule/default/jobu-tick"

    event = scheduler_event(
        schedule_arn=arn, scheduled_time=when, region="us-east-1", account_id="1", input_template=None
    )

    parsed = parse(event=event, model=EventBridgeModel)
    assert (parsed.source, parsed.detail_type, parsed.time, parsed.resources) == (
        "aws.scheduler",
        "Scheduled Event",
        when,
        [arn],
    )


def test_scheduler_input_gets_the_context_attributes_filled_in() -> None:
    when = datetime(2026, 11, 22, 10, 1, tzinfo=UTC)
    template = (
        '{"scheduled_time": "<aws.scheduler.scheduled-time>", "schedule": "<aws.scheduler.schedule-arn>"}'
    )

    event = scheduler_event(
        schedule_arn="arn:s", scheduled_time=when, region="r", account_id="1", input_template=template
    )

    assert event == {"scheduled_time": "2026-11-22T10:01:00Z", "schedule": "arn:s"}
