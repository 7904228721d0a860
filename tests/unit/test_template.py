"""template.yaml against the code it deploys and the limits it must respect.

The template is parsed with the project's CloudFormation-aware loader
(jobu_local.template.cfn_yaml); every function's handler module is imported as Lambda would
(CodeUri + Handler), and its ENVIRONMENT / REQUIRED_ENVIRONMENT are compared with what the template
sets. No AWS, no sam CLI.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobu import constants
from jobu.access import S3Location
from jobu.config import DATABASE_SETTINGS, LIBRARY_SETTINGS
from jobu.handler_manifest import manifest_pools
from jobu.observability import SCHEDULE_EVENTS_REFUSED, TICK_PART_FAILED
from jobu.pools import pool_setting, pool_variable
from jobu.schedule_event import tick_time
from jobu_local.template.cfn_yaml import load_template
from jobu_local.template.reader import LocalTemplate

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


def worker_queue(function: str = "WorkerFunction") -> str:
    """The queue a worker function consumes."""
    (event,) = (e for e in properties(function)["Events"].values() if e["Type"] == "SQS")
    logical_id, attribute = event["Properties"]["Queue"]["Fn::GetAtt"]
    assert attribute == "Arn"
    return str(logical_id)


# The worker pools: each worker function (the functions an SQS queue invokes) by the pool it runs.
WORKERS = {
    environment(f)[constants.WORKER_POOL]: f
    for f in FUNCTIONS
    if any(e["Type"] == "SQS" for e in properties(f).get("Events", {}).values())
}


def statements(node: Any) -> Iterator[dict[str, Any]]:
    """Every IAM statement anywhere in the template (inline policies, also inside Fn::If)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Statement":
                yield from _unwrap_conditions(value if isinstance(value, list) else [value])
            else:
                yield from statements(value)
    elif isinstance(node, list):
        for item in node:
            yield from statements(item)


def _unwrap_conditions(items: list[Any]) -> Iterator[dict[str, Any]]:
    """Statements, with each `!If [cond, statement, AWS::NoValue]` replaced by its statement(s)."""
    for item in items:
        if isinstance(item, dict) and "Fn::If" in item:
            _, chosen, otherwise = item["Fn::If"]
            yield from _unwrap_conditions([b for b in (chosen, otherwise) if b != {"Ref": "AWS::NoValue"}])
        else:
            yield item


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- the template and the code agree --------------------------------------------------------------


def test_the_template_has_the_two_dispatchers_the_admin_api_and_a_worker_per_pool() -> None:
    assert FUNCTIONS == [
        "AdminApiFunction",
        "CronDispatcherFunction",
        "PipelineWorkerFunction",
        "QueueDispatcherFunction",
        "WorkerFunction",
    ]
    assert WORKERS == {"default": "WorkerFunction", "pipeline": "PipelineWorkerFunction"}


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
    read = handler_module(logical_id).ENVIRONMENT | LIBRARY_SETTINGS

    def is_read(name: str) -> bool:  # a pool's setting is read where the default pool's is
        found = pool_setting(name)
        return name in read or (found is not None and found[0] in read)

    unread = {name for name in environment(logical_id) if not is_read(name)}
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
def test_functions_know_the_queue_of_every_pool_and_may_send_to_it(logical_id: str) -> None:
    """A run goes to its handler's pool's queue, whichever function queues it."""
    variables = environment(logical_id)
    for pool, worker in WORKERS.items():
        assert variables[pool_variable(constants.WORK_QUEUE_URL, pool)] == {"Ref": worker_queue(worker)}
    queues = [name for name in variables if (pool_setting(name) or ("",))[0] == constants.WORK_QUEUE_URL]
    assert len(queues) == len(WORKERS)
    assert {"Ref": "WorkQueuesSendPolicy"} in properties(role_of(logical_id))["ManagedPolicyArns"]
    (send,) = statements(properties("WorkQueuesSendPolicy"))
    assert send["Action"] == "sqs:SendMessage"
    assert sorted(send["Resource"], key=str) == sorted(
        ({"Fn::GetAtt": [worker_queue(w), "Arn"]} for w in WORKERS.values()), key=str
    )


def test_every_pool_a_handler_names_has_a_worker() -> None:
    assert set(WORKERS) == manifest_pools()


@pytest.mark.parametrize("pool", sorted(WORKERS))
def test_a_pools_worker_keeps_dead_letters_in_its_own_queue_and_the_admin_api_reads_them(pool: str) -> None:
    worker = WORKERS[pool]
    dead_letter = {"Ref": dead_letter_queue(worker)}
    assert environment(worker)[pool_variable(constants.DEAD_LETTER_QUEUE_URL, pool)] == dead_letter
    admin = environment("AdminApiFunction")
    assert admin[pool_variable(constants.DEAD_LETTER_QUEUE_URL, pool)] == dead_letter
    assert admin[pool_variable(constants.WORKER_TIMEOUT_SECONDS, pool)] == properties(worker)["Timeout"]


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_emulator_endpoint_is_never_set_on_aws(logical_id: str) -> None:
    assert constants.AWS_ENDPOINT_URL not in environment(logical_id)


def test_scheduler_input_carries_the_tick_time_the_dispatcher_reads() -> None:
    (event,) = properties("CronDispatcherFunction")["Events"].values()
    assert event["Type"] == "ScheduleV2"
    delivered = event["Properties"]["Input"].replace("<aws.scheduler.scheduled-time>", "2026-11-22T10:00:00Z")
    now = datetime(2026, 11, 22, 10, 0, 1, tzinfo=UTC)
    assert tick_time(json.loads(delivered), now=now).isoformat() == "2026-11-22T10:00:00+00:00"


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


@pytest.mark.parametrize("worker", sorted(WORKERS.values()))
def test_visibility_timeout_is_at_least_six_worker_timeouts(worker: str) -> None:
    timeout = properties(worker)["Timeout"]
    parameter = TEMPLATE["Parameters"][timeout["Ref"]]
    assert properties(worker_queue(worker))["VisibilityTimeout"] == {
        "Fn::FindInMap": ["WorkerTimeouts", timeout, "VisibilityTimeout"]
    }
    mapping = TEMPLATE["Mappings"]["WorkerTimeouts"]
    assert {str(value) for value in parameter["AllowedValues"]} == set(mapping)
    for timeout in parameter["AllowedValues"]:
        assert timeout <= 900  # Lambda's ceiling
        assert mapping[str(timeout)]["VisibilityTimeout"] >= 6 * timeout
        assert mapping[str(timeout)]["VisibilityTimeout"] <= 43200  # SQS's ceiling


@pytest.mark.parametrize("worker", sorted(WORKERS.values()))
def test_work_queue_redrives_to_a_dead_letter_queue_of_its_own(worker: str) -> None:
    redrive = properties(worker_queue(worker))["RedrivePolicy"]
    dead_letter, attribute = redrive["deadLetterTargetArn"]["Fn::GetAtt"]
    assert (RESOURCES[dead_letter]["Type"], attribute) == ("AWS::SQS::Queue", "Arn")
    assert redrive["maxReceiveCount"] == {"Ref": "WorkQueueMaxReceiveCount"}
    dlq_retention = properties(dead_letter)["MessageRetentionPeriod"]
    assert dlq_retention >= properties(worker_queue(worker))["MessageRetentionPeriod"]
    others = {dead_letter_queue(w) for w in WORKERS.values() if w != worker}
    assert dead_letter not in others


def budget(key: str) -> dict[str, Any]:
    return {"Fn::FindInMap": ["ConnectionBudget", {"Ref": "DatabaseMaxConnections"}, key]}


@pytest.mark.parametrize("worker", sorted(WORKERS.values()))
def test_worker_reports_partial_batch_failures_with_bounded_concurrency(worker: str) -> None:
    (event,) = properties(worker)["Events"].values()
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["Properties"]["BatchSize"] == {"Ref": worker.replace("Function", "BatchSize")}
    concurrency, _ = BUDGET_KEYS[worker]
    assert event["Properties"]["ScalingConfig"]["MaximumConcurrency"] == budget(concurrency)


# The connection budget: which mapping keys bound each function's containers and pool.
BUDGET_KEYS = {
    "CronDispatcherFunction": ("CronConcurrency", "CronPool"),
    "QueueDispatcherFunction": ("QueueConcurrency", "QueuePool"),
    "WorkerFunction": ("WorkerConcurrency", "WorkerPool"),
    "PipelineWorkerFunction": ("PipelineConcurrency", "PipelinePool"),
    "AdminApiFunction": ("AdminConcurrency", "AdminPool"),
}
# Connections a container opens besides its pool: the pipeline worker's db_loader opens one of its own.
EXTRA_CONNECTIONS = {"PipelineWorkerFunction": 1}
# What the budget leaves for operators and migrations.
HEADROOM = 0.1


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_each_function_takes_its_concurrency_and_pool_size_from_the_budget(logical_id: str) -> None:
    concurrency, pool = BUDGET_KEYS[logical_id]
    reserved = properties(logical_id)["ReservedConcurrentExecutions"]["Fn::If"]
    assert reserved == ["UseReservedConcurrency", budget(concurrency), {"Ref": "AWS::NoValue"}]
    assert environment(logical_id)[constants.DATABASE_POOL_SIZE] == budget(pool)


@pytest.mark.parametrize("connections", TEMPLATE["Parameters"]["DatabaseMaxConnections"]["AllowedValues"])
def test_concurrent_containers_times_pool_size_stay_under_the_budget(connections: int) -> None:
    row = TEMPLATE["Mappings"]["ConnectionBudget"][str(connections)]
    used = sum(
        row[concurrency] * (row[pool] + EXTRA_CONNECTIONS.get(logical_id, 0))
        for logical_id, (concurrency, pool) in BUDGET_KEYS.items()
    )
    assert used <= connections * (1 - HEADROOM), f"{used} connections of {connections}"
    assert set(row) == {key for keys in BUDGET_KEYS.values() for key in keys}  # every function, no other
    for worker in WORKERS.values():
        assert row[BUDGET_KEYS[worker][0]] >= 2  # SQS's lowest MaximumConcurrency
    assert all(value >= 1 for value in row.values())


def test_budget_rows_are_the_parameter_values() -> None:
    allowed = {str(value) for value in TEMPLATE["Parameters"]["DatabaseMaxConnections"]["AllowedValues"]}
    assert allowed == set(TEMPLATE["Mappings"]["ConnectionBudget"])
    assert str(TEMPLATE["Parameters"]["DatabaseMaxConnections"]["Default"]) in allowed


def test_the_pipeline_worker_has_ephemeral_storage_for_staging_and_the_default_worker_none() -> None:
    storage = properties("PipelineWorkerFunction")["EphemeralStorage"]
    assert storage == {"Size": {"Ref": "PipelineWorkerEphemeralStorage"}}
    parameter = TEMPLATE["Parameters"]["PipelineWorkerEphemeralStorage"]
    assert 512 <= parameter["MinValue"] <= parameter["Default"] <= parameter["MaxValue"] <= 10240
    assert "EphemeralStorage" not in properties("WorkerFunction")  # 512 MB, the free size


def test_pipeline_layer_is_on_the_pipeline_worker_only() -> None:
    assert {"Ref": "PipelineLayer"} in layers("PipelineWorkerFunction")
    for logical_id in set(FUNCTIONS) - {"PipelineWorkerFunction"}:
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


def alarm_metrics(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """The metrics an alarm reads: its own, or those of its metric math."""
    if "MetricName" in alarm:
        return [alarm]
    return [query["MetricStat"]["Metric"] for query in alarm["Metrics"] if "MetricStat" in query]


def alarm_target(metric: dict[str, Any]) -> tuple[str, str]:
    """(metric, logical id of the queue or function it watches, or the service of jobu's own)."""
    value = metric["Dimensions"][0]["Value"]
    if isinstance(value, str):
        return metric["MetricName"], value
    logical_id = value["Ref"] if "Ref" in value else value["Fn::GetAtt"][0]
    return metric["MetricName"], logical_id


ALARMS = [v for v in RESOURCES.values() if v["Type"] == "AWS::CloudWatch::Alarm"]
WATCHED = {alarm_target(m) for alarm in ALARMS for m in alarm_metrics(alarm["Properties"])}


@pytest.mark.parametrize("worker", sorted(WORKERS.values()))
def test_alarms_watch_each_pools_dead_letters_worker_errors_and_message_age(worker: str) -> None:
    watched = WATCHED
    assert ("ApproximateNumberOfMessagesVisible", dead_letter_queue(worker)) in watched
    assert ("ApproximateAgeOfOldestMessage", worker_queue(worker)) in watched
    assert ("Errors", worker) in watched


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


def role_of(logical_id: str) -> str:
    """The logical id of the function's role (written out in the template, never SAM's)."""
    role = properties(logical_id).get("Role")
    assert role is not None, f"{logical_id} has no Role: SAM would make one with AWSLambdaBasicExecutionRole"
    assert role["Fn::GetAtt"][1] == "Arn"
    return str(role["Fn::GetAtt"][0])


def role_statements(role: str) -> list[dict[str, Any]]:
    """Every statement the role gets: its inline policies, the policies attached to it, its own
    managed policies."""
    found = list(statements(properties(role).get("Policies", [])))
    for value in RESOURCES.values():
        if value["Type"] == "AWS::IAM::Policy" and {"Ref": role} in value["Properties"]["Roles"]:
            found += statements(value["Properties"]["PolicyDocument"])
    for arn in properties(role).get("ManagedPolicyArns", []):
        for item in _unwrap_conditions([arn]):
            if isinstance(item, dict) and "Ref" in item:
                found += statements(properties(item["Ref"])["PolicyDocument"])
    return found


# AWS managed policies that let a role write to every log group of the account.
LOG_EVERYWHERE = (
    "AWSLambdaBasicExecutionRole",
    "AWSLambdaVPCAccessExecutionRole",
    "CloudWatchLogsFullAccess",
)


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_each_function_writes_to_its_own_log_group_only(logical_id: str) -> None:
    role = role_of(logical_id)
    assert "Policies" not in properties(logical_id), "SAM ignores Policies when Role is given"
    managed = json.dumps(properties(role).get("ManagedPolicyArns", []))
    assert not [name for name in LOG_EVERYWHERE if name in managed]
    own_group = {"Fn::GetAtt": [logical_id.replace("Function", "LogGroup"), "Arn"]}
    logs = [s for s in role_statements(role) if any(a.startswith("logs:") for a in as_list(s["Action"]))]
    assert logs, f"{logical_id} could not log at all"
    for statement in logs:
        assert statement["Resource"] == own_group, statement
    assert {"logs:CreateLogStream", "logs:PutLogEvents"} <= {a for s in logs for a in as_list(s["Action"])}


def test_no_role_writes_to_log_groups_it_does_not_own() -> None:
    """Every role in the template, and every logs: statement anywhere, names one function's group."""
    roles = [key for key, value in RESOURCES.items() if value["Type"] == "AWS::IAM::Role"]
    assert sorted(roles) == sorted(role_of(f) for f in FUNCTIONS)
    for statement in statements(RESOURCES):
        if any(str(a).startswith("logs:") for a in as_list(statement["Action"])):
            (group, attribute) = statement["Resource"]["Fn::GetAtt"]
            assert (RESOURCES[group]["Type"], attribute) == ("AWS::Logs::LogGroup", "Arn")


def test_the_pipeline_prefix_cannot_widen_the_workers_s3_policy() -> None:
    """The prefix is pasted into the worker's S3 resource ARN and s3:prefix condition: a * or ? there
    is an IAM wildcard, ${...} a policy variable. The parameter refuses them (CloudFormation checks
    AllowedPattern before it creates anything), and refuses . and .. folders, which jobu.access
    refuses too (the template and the code agree on what a prefix is)."""
    pattern = re.compile(TEMPLATE["Parameters"]["PipelineDataPrefix"]["AllowedPattern"])
    for prefix in ("", "pipeline/", "team-a/pipeline.v2/", "a/b/c/", "(x)!'_/", "...a/"):
        assert pattern.fullmatch(prefix), prefix
        S3Location.parse(f"s3://bucket/{prefix}")
    for prefix in (
        "*",
        "*/",
        "a*/",
        "pipe?/",
        "a/*",
        "${aws:username}/",
        "../",
        "./",
        "a/../",
        "a/./",
        "a",
        "/a/",
        "a//",
        "a b/",
        "a\\b/",
    ):
        assert not pattern.fullmatch(prefix), prefix


@settings(max_examples=300, deadline=None)
@given(prefix=st.from_regex(TEMPLATE["Parameters"]["PipelineDataPrefix"]["AllowedPattern"], fullmatch=True))
def test_every_prefix_the_parameter_takes_is_a_literal_folder(prefix: str) -> None:
    assert not set(prefix) & set("*?$[]{}")
    assert S3Location.parse(f"s3://bucket/{prefix}").prefix == prefix


def test_refused_ticks_alarm_on_the_metric_the_cron_dispatcher_emits(tmp_path: Path) -> None:
    """A schedule whose events are refused stops every job without a Lambda error. The alarm must
    watch the metric as the code emits it: the cron dispatcher is given a refused event with the
    template's environment, in a process of its own (Powertools reads it at import), and its EMF
    document is compared with the alarm's namespace, name and dimensions."""
    (alarm,) = [
        a["Properties"] for a in ALARMS if a["Properties"].get("MetricName") == SCHEDULE_EVENTS_REFUSED
    ]
    assert alarm["AlarmActions"] == {
        "Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]
    }
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    namespace = TEMPLATE["Parameters"][alarm["Namespace"]["Ref"]]["Default"]

    (cron,) = [
        f
        for f in LocalTemplate.load(ROOT / "template.yaml").functions()
        if f.logical_id == "CronDispatcherFunction"
    ]
    script = (
        "import json\n"
        "from functions.cron_dispatcher import app\n"
        "from tests.support.harness import FakeLambdaContext\n"
        "answer = app.handler({'detail-type': 'not a tick'}, FakeLambdaContext(function_name='cron'))\n"
        "print(json.dumps(answer))"
    )
    environment = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **cron.config.environment}
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True, check=True
    ).stdout
    documents = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert "refused" in documents[-1]
    (emf,) = [d["_aws"]["CloudWatchMetrics"][0] for d in documents if "_aws" in d]
    emitted = next(d for d in documents if "_aws" in d)
    assert emf["Namespace"] == namespace
    assert SCHEDULE_EVENTS_REFUSED in [m["Name"] for m in emf["Metrics"]]
    assert emitted[SCHEDULE_EVENTS_REFUSED] == [1.0]
    (dimension_names,) = emf["Dimensions"]
    assert {name: emitted[name] for name in dimension_names} == {
        d["Name"]: d["Value"] for d in alarm["Dimensions"]
    }


def test_outputs_name_queues_functions_and_log_groups() -> None:
    outputs = {name: value["Value"] for name, value in TEMPLATE["Outputs"].items()}
    assert outputs["WorkQueueUrl"] == {"Ref": worker_queue()}
    for worker in WORKERS.values():
        assert {"Ref": worker_queue(worker)} in outputs.values()
        assert {"Ref": dead_letter_queue(worker)} in outputs.values()
    for logical_id in FUNCTIONS:
        assert {"Ref": logical_id} in outputs.values()
        assert {"Ref": logical_id.replace("Function", "LogGroup")} in outputs.values()


def test_worker_s3_access_is_the_pipeline_bucket_only() -> None:
    """The pipeline handlers read and write s3:// paths; the pipeline worker may touch that bucket and
    no other, the default pool's worker no S3 at all."""
    assert not [s for s in statements(properties("WorkerRole")) if str(s["Action"]).count("s3:")]
    s3 = [s for s in statements(properties("PipelineWorkerRole")) if str(s["Action"]).count("s3:")]
    assert {str(s["Resource"]["Fn::Sub"]) for s in s3} == {
        "arn:${AWS::Partition}:s3:::${PipelineDataBucket}/${PipelineDataPrefix}*",
        "arn:${AWS::Partition}:s3:::${PipelineDataBucket}",
    }
    (listing,) = [s for s in s3 if s["Action"] == "s3:ListBucket"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": {"Fn::Sub": "${PipelineDataPrefix}*"}}}


def test_alarms_watch_failed_runs_rejected_events_requeues_and_kafka_lag() -> None:
    """A failed run is reported per item, never as a Lambda error: jobu's own metrics carry it."""
    service = GLOBALS["Environment"]["Variables"][constants.POWERTOOLS_SERVICE_NAME]
    for metric in ("ExecutionsFailed", "ExecutionsTimedOut", "EventsRejected", "ExecutionsRequeued"):
        assert (metric, service) in WATCHED, metric
    assert ("OffsetLag", "QueueDispatcherFunction") in WATCHED
    for alarm in ALARMS:
        for metric in alarm_metrics(alarm["Properties"]):
            if metric["Dimensions"][0]["Name"] == "service":
                assert metric["Namespace"] == {"Ref": "MetricsNamespace"}


def test_the_schedule_has_no_fixed_name() -> None:
    """A fixed name collides with a second stack in the same account and Region."""
    (event,) = properties("CronDispatcherFunction")["Events"].values()
    assert event["Properties"]["OmitName"] is True
    assert "Name" not in event["Properties"]


@pytest.mark.parametrize("worker", sorted(WORKERS.values()))
def test_worker_role_consumes_its_own_queue_only(worker: str) -> None:
    """SAM's SQS event would attach AWSLambdaSQSQueueExecutionRole (every queue): each worker has
    a role of its own, whose SQS statements name its pool's work queue, and its dead-letter queue
    for sending only (a message that can never parse is kept there at once); it sends runs to
    every pool's queue through WorkQueuesSendPolicy."""
    function = properties(worker)
    role_id = function["Role"]["Fn::GetAtt"][0]
    assert "Policies" not in function
    assert [w for w in WORKERS.values() if properties(w)["Role"]["Fn::GetAtt"][0] == role_id] == [worker]
    role = properties(role_id)
    assert not [arn for arn in role["ManagedPolicyArns"] if "SQS" in json.dumps(arn)]
    sqs = [s for s in statements(role) if "sqs:" in json.dumps(s["Action"])]
    assert sqs
    dead_letter = {"Fn::GetAtt": [dead_letter_queue(worker), "Arn"]}
    for statement in sqs:
        assert statement["Resource"] in ({"Fn::GetAtt": [worker_queue(worker), "Arn"]}, dead_letter)
        assert all(action.startswith("sqs:") and "*" not in action for action in as_list(statement["Action"]))
        if statement["Resource"] == dead_letter:
            assert statement["Action"] == "sqs:SendMessage"


def test_the_pipeline_worker_reads_the_data_access_settings_from_parameters() -> None:
    variables = environment("PipelineWorkerFunction")
    assert variables[constants.DATA_ROOT] == {"Ref": "PipelineDataRoot"}
    assert variables[constants.LOAD_TABLES] == {"Ref": "PipelineLoadTables"}
    assert variables[constants.LOAD_DATABASES] == {"Ref": "PipelineLoadDatabases"}
    condition, chosen, otherwise = variables[constants.DATA_S3_LOCATIONS]["Fn::If"]
    assert (condition, otherwise) == ("HasPipelineDataBucket", "")
    assert chosen == {"Fn::Sub": "s3://${PipelineDataBucket}/${PipelineDataPrefix}"}
    for name in (constants.DATA_ROOT, constants.LOAD_TABLES, constants.LOAD_DATABASES):
        assert "database_url" not in json.dumps(variables[name])
    for logical_id in ("CronDispatcherFunction", "QueueDispatcherFunction"):
        assert constants.DATA_ROOT not in environment(logical_id)


def test_the_default_pool_reaches_the_named_databases_and_no_file_or_bucket() -> None:
    """sample9 probes the databases operators named; the files, buckets and tables are the
    pipeline pool's (empty: nothing allowed, jobu.access)."""
    variables = environment("WorkerFunction")
    assert variables[constants.LOAD_DATABASES] == {"Ref": "PipelineLoadDatabases"}
    for name in (constants.DATA_ROOT, constants.DATA_S3_LOCATIONS, constants.LOAD_TABLES):
        assert variables[name] == ""
    role = role_statements(role_of("WorkerFunction"))
    assert not [s for s in role if any(a.startswith("s3:") for a in as_list(s["Action"]))]


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_database_tls_is_verified_by_default(logical_id: str) -> None:
    variables = environment(logical_id)
    assert variables[constants.DATABASE_TLS] == {"Ref": "DatabaseTls"}
    assert variables[constants.DATABASE_CA_BUNDLE] == {"Ref": "DatabaseCaBundle"}
    assert TEMPLATE["Parameters"]["DatabaseTls"]["Default"] == "verify-full"


# --- admin API -------------------------------------------------------------------------------------


def dead_letter_queue(worker: str = "WorkerFunction") -> str:
    """The dead-letter queue of a worker's queue."""
    return str(properties(worker_queue(worker))["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0])


def test_admin_api_is_an_http_api_with_iam_authorization_on_every_route() -> None:
    (event,) = properties("AdminApiFunction")["Events"].values()
    assert event["Type"] == "HttpApi"
    assert (event["Properties"]["Path"], event["Properties"]["Method"]) == ("/{proxy+}", "ANY")
    api_id = event["Properties"]["ApiId"]["Ref"]
    assert RESOURCES[api_id]["Type"] == "AWS::Serverless::HttpApi"
    auth = properties(api_id)["Auth"]
    assert auth == {"EnableIamAuthorizer": True, "DefaultAuthorizer": "AWS_IAM"}
    assert "Auth" not in event["Properties"], "a route must not opt out of IAM authorization"
    assert TEMPLATE["Outputs"]["AdminApiUrl"]["Value"]["Fn::Sub"].startswith(
        f"https://${{{api_id}}}.execute-api."
    )


def test_admin_api_answers_within_the_http_apis_integration_timeout() -> None:
    assert properties("AdminApiFunction")["Timeout"] < 30


def test_admin_api_may_touch_the_dead_letter_queues_and_nothing_else_beyond_sending_work() -> None:
    role = properties(role_of("AdminApiFunction"))
    assert {"Ref": "WorkQueuesSendPolicy"} in role["ManagedPolicyArns"]
    sqs = [s for s in statements(role) if any(a.startswith("sqs:") for a in as_list(s["Action"]))]
    assert len(sqs) == 2
    dead, depth = sqs
    by_name = lambda queues: sorted(({"Fn::GetAtt": [q, "Arn"]} for q in queues), key=str)  # noqa: E731
    assert sorted(dead["Resource"], key=str) == by_name(dead_letter_queue(w) for w in WORKERS.values())
    assert sorted(depth["Resource"], key=str) == by_name(worker_queue(w) for w in WORKERS.values())
    assert depth["Action"] == "sqs:GetQueueAttributes"
    assert set(dead["Action"]) == {
        "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:StartMessageMoveTask",
        "sqs:ListMessageMoveTasks",
    }


# --- roles over the admin API: the viewer and operator policies ------------------------------------

SUBSTITUTIONS = {
    "AWS::Partition": "aws",
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "123456789012",
    "AdminHttpApi": "abc123defg",
}


def _route_arns() -> dict[tuple[str, str], str]:
    """Every route of the admin API (its OpenAPI document) as the ARN IAM authorization checks a
    request to it against: <api>/<stage>/<METHOD>/<path>, path parameters filled in."""
    from jobu.api.resolver import create_resolver, openapi

    base = "arn:aws:execute-api:eu-west-1:123456789012:abc123defg/$default"
    arns = {}
    for path, item in openapi(create_resolver())["paths"].items():
        for method in item:
            concrete = re.sub(r"\{[^}]+\}", "42", path)
            arns[(method.upper(), path)] = f"{base}/{method.upper()}{concrete}"
    return arns


def _iam_matches(pattern: str, arn: str) -> bool:
    """IAM's matching of a Resource: `*` any run of characters (slashes too), `?` one character."""
    expression = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(expression, arn) is not None


def _invoke_resources(logical_id: str) -> list[str]:
    resource = RESOURCES[logical_id]
    assert resource["Type"] == "AWS::IAM::ManagedPolicy"
    found = []
    for statement in statements(resource["Properties"]["PolicyDocument"]):
        assert statement["Effect"] == "Allow"
        assert as_list(statement["Action"]) == ["execute-api:Invoke"]
        for item in as_list(statement["Resource"]):
            text = item["Fn::Sub"]
            for name, value in SUBSTITUTIONS.items():
                text = text.replace(f"${{{name}}}", value)
            assert "${" not in text, text
            found.append(text)
    return found


def _allowed(logical_id: str) -> set[tuple[str, str]]:
    patterns = _invoke_resources(logical_id)
    return {route for route, arn in _route_arns().items() if any(_iam_matches(p, arn) for p in patterns)}


def test_the_viewer_policy_allows_the_get_routes_and_no_other() -> None:
    routes = set(_route_arns())
    reads = {route for route in routes if route[0] == "GET"}
    assert reads >= {("GET", "/api/crons"), ("GET", "/api/jobs/{run_id}"), ("GET", "/api/audit")}
    assert _allowed("AdminApiViewerPolicy") == reads
    # the dashboard's probe: answered to operators only
    assert ("POST", "/api/access/check") not in _allowed("AdminApiViewerPolicy")


def test_the_operator_policy_allows_every_route_of_this_api_only() -> None:
    assert _allowed("AdminApiOperatorPolicy") == set(_route_arns())
    for pattern in _invoke_resources("AdminApiOperatorPolicy") + _invoke_resources("AdminApiViewerPolicy"):
        another_api = "arn:aws:execute-api:eu-west-1:123456789012:zzz999/$default/GET/api/crons"
        assert not _iam_matches(pattern, another_api)


def test_the_role_policies_are_outputs_to_attach() -> None:
    outputs = {name: value["Value"] for name, value in TEMPLATE["Outputs"].items()}
    assert outputs["AdminApiViewerPolicyArn"] == {"Ref": "AdminApiViewerPolicy"}
    assert outputs["AdminApiOperatorPolicyArn"] == {"Ref": "AdminApiOperatorPolicy"}


def test_a_failed_part_of_a_tick_alarms_like_a_refused_tick() -> None:
    """A tick part's failure is counted (not raised) by the same function and metrics as a refused
    tick, whose alarm is checked against the emitted metric above: the same namespace, dimensions
    and notification."""
    by_metric = {a["Properties"].get("MetricName"): a["Properties"] for a in ALARMS}
    part, refused = by_metric[TICK_PART_FAILED], by_metric[SCHEDULE_EVENTS_REFUSED]
    same = ("Namespace", "Dimensions", "Statistic", "Threshold", "ComparisonOperator", "AlarmActions")
    assert {key: part[key] for key in same} == {key: refused[key] for key in same}
