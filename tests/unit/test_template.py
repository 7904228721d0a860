"""template.yaml against the code it deploys and the limits it must respect.

The template is parsed with the project's CloudFormation-aware loader
(jobu_local.template.cfn_yaml); every function's handler module is imported as Lambda would
(CodeUri + Handler), and its ENVIRONMENT / REQUIRED_ENVIRONMENT are compared with what the template
sets. No AWS, no sam CLI.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from jobu import constants
from jobu.config import DATABASE_SETTINGS, POWERTOOLS_SETTINGS
from jobu.schedule_event import tick_time
from jobu_local.template.cfn_yaml import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
FUNCTIONS = sorted(key for key, value in RESOURCES.items() if value["Type"] == "AWS::Serverless::Function")
GLOBALS: dict[str, Any] = TEMPLATE["Globals"]["Function"]


def properties(logical_id: str) -> dict[str, Any]:
    props: dict[str, Any] = RESOURCES[logical_id]["Properties"]
    return props


def environment(logical_id: str) -> dict[str, Any]:
    """What the function gets: Globals' variables, overridden by its own (SAM merges the maps)."""
    variables = dict(GLOBALS.get("Environment", {}).get("Variables", {}))
    variables.update(properties(logical_id).get("Environment", {}).get("Variables", {}))
    return variables


def handler_module(logical_id: str) -> ModuleType:
    """The entry point module as Lambda finds it: CodeUri folder + the module part of Handler."""
    props = properties(logical_id)
    module, _, _ = props["Handler"].rpartition(".")
    package = props["CodeUri"].strip("/").replace("/", ".")
    return importlib.import_module(f"{package}.{module}")


def layers(logical_id: str) -> list[Any]:
    return [*GLOBALS.get("Layers", []), *properties(logical_id).get("Layers", [])]


def worker_queue() -> str:
    (event,) = (e for e in properties("WorkerFunction")["Events"].values() if e["Type"] == "SQS")
    logical_id, attribute = event["Properties"]["Queue"]["Fn::GetAtt"]
    assert attribute == "Arn"
    return str(logical_id)


def statements(node: Any) -> Iterator[dict[str, Any]]:
    """Every IAM statement anywhere in the template (inline policies, also inside Fn::If)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Statement":
                yield from value if isinstance(value, list) else [value]
            else:
                yield from statements(value)
    elif isinstance(node, list):
        for item in node:
            yield from statements(item)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- the template and the code agree --------------------------------------------------------------


def test_the_template_has_the_three_functions() -> None:
    assert FUNCTIONS == ["CronDispatcherFunction", "QueueDispatcherFunction", "WorkerFunction"]


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_handler_exists_where_the_template_points(logical_id: str) -> None:
    module = handler_module(logical_id)
    _, _, function = properties(logical_id)["Handler"].rpartition(".")
    assert callable(getattr(module, function))


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_every_variable_the_code_requires_is_set(logical_id: str) -> None:
    required = handler_module(logical_id).REQUIRED_ENVIRONMENT
    assert required <= set(environment(logical_id)), (
        f"{logical_id} misses {required - set(environment(logical_id))}"
    )


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_every_variable_the_template_sets_is_read(logical_id: str) -> None:
    read = handler_module(logical_id).ENVIRONMENT | POWERTOOLS_SETTINGS
    unread = set(environment(logical_id)) - read
    assert not unread, f"{logical_id}: the template sets variables no code reads: {sorted(unread)}"


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_database_is_the_secret_parameter_and_only_that(logical_id: str) -> None:
    """Exactly one of the two is non-empty on AWS; the URL is declared empty for `sam local invoke`."""
    variables = environment(logical_id)
    assert variables[constants.DATABASE_SECRET_ARN] == {"Ref": "DatabaseSecretArn"}
    configured = {name for name in DATABASE_SETTINGS if variables.get(name, "") != ""}
    assert configured == {constants.DATABASE_SECRET_ARN}
    assert "Default" not in TEMPLATE["Parameters"]["DatabaseSecretArn"]


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_functions_send_to_the_queue_the_worker_consumes(logical_id: str) -> None:
    assert environment(logical_id)[constants.WORK_QUEUE_URL] == {"Ref": worker_queue()}


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_emulator_endpoint_is_never_set_on_aws(logical_id: str) -> None:
    assert constants.AWS_ENDPOINT_URL not in environment(logical_id)


def test_scheduler_input_carries_the_tick_time_the_dispatcher_reads() -> None:
    (event,) = properties("CronDispatcherFunction")["Events"].values()
    assert event["Type"] == "ScheduleV2"
    delivered = event["Properties"]["Input"].replace("<aws.scheduler.scheduled-time>", "2026-11-22T10:00:00Z")
    assert tick_time(json.loads(delivered)).isoformat() == "2026-11-22T10:00:00+00:00"


def test_kafka_topic_default_is_the_topic_of_the_event_files() -> None:
    topics = {
        record["topic"]
        for path in sorted((ROOT / "events").glob("queue_dispatcher_*.json"))
        for records in json.loads(path.read_text())["records"].values()
        for record in records
    }
    assert topics == {TEMPLATE["Parameters"]["KafkaTopic"]["Default"]} == {"jobu-events"}


def test_kafka_mapping_consumes_the_topic_and_group_parameters() -> None:
    mapping = properties("QueueDispatcherKafkaSource")
    assert mapping["FunctionName"] == {"Ref": "QueueDispatcherFunction"}
    assert mapping["Topics"] == [{"Ref": "KafkaTopic"}]
    for config in ("AmazonManagedKafkaEventSourceConfig", "SelfManagedKafkaEventSourceConfig"):
        _, chosen, _ = mapping[config]["Fn::If"]
        assert chosen == {"ConsumerGroupId": {"Ref": "KafkaConsumerGroupId"}}


# --- queue, worker, limits -------------------------------------------------------------------------


def test_visibility_timeout_is_at_least_six_worker_timeouts() -> None:
    parameter = TEMPLATE["Parameters"]["WorkerTimeoutSeconds"]
    assert properties("WorkerFunction")["Timeout"] == {"Ref": "WorkerTimeoutSeconds"}
    assert properties(worker_queue())["VisibilityTimeout"] == {
        "Fn::FindInMap": ["WorkerTimeouts", {"Ref": "WorkerTimeoutSeconds"}, "VisibilityTimeout"]
    }
    mapping = TEMPLATE["Mappings"]["WorkerTimeouts"]
    assert {str(value) for value in parameter["AllowedValues"]} == set(mapping)
    for timeout in parameter["AllowedValues"]:
        assert timeout <= 900  # Lambda's ceiling
        assert mapping[str(timeout)]["VisibilityTimeout"] >= 6 * timeout
        assert mapping[str(timeout)]["VisibilityTimeout"] <= 43200  # SQS's ceiling


def test_work_queue_redrives_to_a_dead_letter_queue() -> None:
    redrive = properties(worker_queue())["RedrivePolicy"]
    dead_letter, attribute = redrive["deadLetterTargetArn"]["Fn::GetAtt"]
    assert (RESOURCES[dead_letter]["Type"], attribute) == ("AWS::SQS::Queue", "Arn")
    assert redrive["maxReceiveCount"] == {"Ref": "WorkQueueMaxReceiveCount"}
    dlq_retention = properties(dead_letter)["MessageRetentionPeriod"]
    assert dlq_retention >= properties(worker_queue())["MessageRetentionPeriod"]


def test_worker_reports_partial_batch_failures_with_bounded_concurrency() -> None:
    (event,) = properties("WorkerFunction")["Events"].values()
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["Properties"]["BatchSize"] == {"Ref": "WorkerBatchSize"}
    assert event["Properties"]["ScalingConfig"]["MaximumConcurrency"] == {"Ref": "WorkerMaximumConcurrency"}


def test_pipeline_layer_is_on_the_worker_only() -> None:
    assert {"Ref": "PipelineLayer"} in layers("WorkerFunction")
    for logical_id in ("CronDispatcherFunction", "QueueDispatcherFunction"):
        assert {"Ref": "PipelineLayer"} not in layers(logical_id)
    for logical_id in FUNCTIONS:
        assert {"Ref": "CoreLayer"} in layers(logical_id)


def test_pipeline_layer_pins_are_the_tested_pins() -> None:
    def pins(path: Path) -> dict[str, str]:
        found = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", path.read_text(), flags=re.MULTILINE)
        return {name.lower(): version for name, version in found}

    layer = pins(ROOT / "layers/pipeline/requirements.txt")
    assert layer
    assert layer.items() <= pins(ROOT / "requirements-dev.txt").items()


def test_architecture_is_one_everywhere() -> None:
    """Functions, layer metadata and the layer build (layers/Makefile) must target one architecture:
    a layer built for the other one fails at import on Lambda, not at deploy."""
    (architecture,) = GLOBALS["Architectures"]
    for logical_id in FUNCTIONS:
        assert properties(logical_id).get("Architectures", [architecture]) == [architecture]
    for logical_id in ("CoreLayer", "PipelineLayer"):
        layer = RESOURCES[logical_id]
        assert layer["Metadata"]["BuildArchitecture"] == architecture
        assert layer["Properties"]["CompatibleArchitectures"] == [architecture]
        assert layer["Metadata"]["BuildMethod"] == "makefile"
        assert (ROOT / layer["Metadata"]["ContextPath"] / "Makefile").is_file()
    assert re.search(rf"^ARCH := {architecture}$", (ROOT / "layers/Makefile").read_text(), flags=re.MULTILINE)


# --- operations ------------------------------------------------------------------------------------


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_every_function_has_a_log_group_with_retention(logical_id: str) -> None:
    groups = [
        value["Properties"]
        for value in RESOURCES.values()
        if value["Type"] == "AWS::Logs::LogGroup"
        and value["Properties"]["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{{logical_id}}}"}
    ]
    assert len(groups) == 1
    assert groups[0]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}


def alarm_target(alarm: dict[str, Any]) -> tuple[str, str]:
    """(metric, logical id of the queue or function it watches)."""
    value = alarm["Dimensions"][0]["Value"]
    logical_id = value["Ref"] if "Ref" in value else value["Fn::GetAtt"][0]
    return alarm["MetricName"], logical_id


def test_alarms_watch_dead_letters_worker_errors_and_message_age() -> None:
    watched = {
        alarm_target(v["Properties"]) for v in RESOURCES.values() if v["Type"] == "AWS::CloudWatch::Alarm"
    }
    dead_letter = properties(worker_queue())["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert ("ApproximateNumberOfMessagesVisible", dead_letter) in watched
    assert ("ApproximateAgeOfOldestMessage", worker_queue()) in watched
    assert ("Errors", "WorkerFunction") in watched


def test_no_statement_allows_every_action_on_every_resource() -> None:
    found = list(statements(RESOURCES))
    assert found, "the template's inline policies were not found"
    for statement in found:
        if statement.get("Effect") != "Allow":
            continue
        wildcard_action = any(
            action == "*" or action.endswith(":*") for action in as_list(statement["Action"])
        )
        assert not (wildcard_action and "*" in as_list(statement["Resource"])), statement


def test_outputs_name_queues_functions_and_log_groups() -> None:
    outputs = {name: value["Value"] for name, value in TEMPLATE["Outputs"].items()}
    assert outputs["WorkQueueUrl"] == {"Ref": worker_queue()}
    for logical_id in FUNCTIONS:
        assert {"Ref": logical_id} in outputs.values()
        assert {"Ref": logical_id.replace("Function", "LogGroup")} in outputs.values()


def test_worker_s3_access_is_the_pipeline_bucket_only() -> None:
    """The pipeline handlers read and write s3:// paths; the worker may touch that bucket and no other."""
    s3 = [s for s in statements(properties("WorkerFunction")["Policies"]) if str(s["Action"]).count("s3:")]
    assert {str(s["Resource"]["Fn::Sub"]) for s in s3} == {
        "arn:${AWS::Partition}:s3:::${PipelineDataBucket}/*",
        "arn:${AWS::Partition}:s3:::${PipelineDataBucket}",
    }
