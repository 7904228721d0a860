"""What the local runtime reads from template.yaml, and how it resolves intrinsic functions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jobu_local.template.cfn_yaml import loads_template
from jobu_local.template.intrinsics import TemplateError
from jobu_local.template.reader import LocalTemplate

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


@pytest.fixture
def template() -> LocalTemplate:
    return LocalTemplate.load(TEMPLATE)


def test_every_function_runs_with_its_code_layers_timeout_and_memory(template: LocalTemplate) -> None:
    specs = {spec.logical_id: spec for spec in template.functions()}

    assert set(specs) == {
        "AdminApiFunction",
        "CronDispatcherFunction",
        "PipelineWorkerFunction",
        "QueueDispatcherFunction",
        "WorkerFunction",
    }
    for spec in specs.values():
        assert spec.config.handler == "app.handler"
        assert (spec.config.code_dir / "app.py").exists()
        assert spec.config.layer_dirs[0] == TEMPLATE.parent / "layers" / "core" / "python"
        assert spec.config.log_group == f"/aws/lambda/{spec.config.name}"
    worker, pipeline = specs["WorkerFunction"].config, specs["PipelineWorkerFunction"].config
    assert (worker.timeout_seconds, worker.memory_mb) == (600, 512)
    assert (pipeline.timeout_seconds, pipeline.memory_mb) == (900, 1769)
    assert len(worker.layer_dirs) == 1  # the core layer only: no pandas in the default pool
    assert pipeline.layer_dirs[1] == TEMPLATE.parent / "layers" / "pipeline" / "python"
    assert specs["CronDispatcherFunction"].config.timeout_seconds == 50


def test_event_sources_carry_the_templates_settings(template: LocalTemplate) -> None:
    (schedule,) = template.function("CronDispatcherFunction").schedules
    (kafka,) = template.function("QueueDispatcherFunction").kafka
    (sqs,) = template.function("WorkerFunction").sqs

    assert (schedule.expression, schedule.enabled) == ("rate(1 minute)", True)
    assert schedule.input is not None
    assert "<aws.scheduler.scheduled-time>" in schedule.input
    assert (kafka.kind, kafka.topics, kafka.consumer_group_id) == (
        "MSK",
        ("jobu-events",),
        "jobu-queue-dispatcher",
    )
    assert (kafka.batch_size, kafka.batching_window_seconds, kafka.starting_position) == (
        500,
        1.0,
        "TRIM_HORIZON",
    )
    assert (kafka.maximum_retry_attempts, kafka.bisect_on_error) == (10, True)
    assert kafka.cluster_arn is not None
    assert kafka.cluster_arn.startswith("arn:aws:kafka:")
    assert (sqs.queue_logical_id, sqs.batch_size, sqs.report_batch_item_failures) == ("WorkQueue", 10, True)
    (pipeline,) = template.function("PipelineWorkerFunction").sqs
    assert (pipeline.queue_logical_id, pipeline.batch_size) == ("PipelineWorkQueue", 1)


def test_parameter_overrides_reach_the_resolved_properties() -> None:
    template = LocalTemplate.load(
        TEMPLATE, parameter_overrides={"KafkaBatchSize": "7", "WorkerTimeoutSeconds": "60"}
    )

    (kafka,) = template.function("QueueDispatcherFunction").kafka
    properties = template.resolve(template.resource("WorkQueue")["Properties"])
    assert kafka.batch_size == 7
    assert properties["VisibilityTimeout"] == 360  # FindInMap on the overridden parameter
    assert properties["RedrivePolicy"]["deadLetterTargetArn"].endswith(":jobu-WorkDeadLetterQueue")


def test_an_unknown_override_or_function_is_refused(template: LocalTemplate) -> None:
    with pytest.raises(TemplateError, match="NoSuchParameter"):
        LocalTemplate.load(TEMPLATE, parameter_overrides={"NoSuchParameter": "1"}).functions()
    with pytest.raises(TemplateError, match="no function 'mailer'"):
        template.find_function("mailer")


@pytest.mark.parametrize("alias", ["worker", "WorkerFunction", "jobu-WorkerFunction", "WORKER"])
def test_functions_are_found_by_short_names(template: LocalTemplate, alias: str) -> None:
    assert template.find_function(alias).logical_id == "WorkerFunction"


SMALL = """
Parameters:
  Stage: {Type: String, Default: dev}
  Subnets: {Type: CommaDelimitedList, Default: "a,b"}
Conditions:
  IsDev: !Equals [!Ref Stage, dev]
  HasTwo: !Not [!Equals [!Select [1, !Ref Subnets], ""]]
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Condition: IsDev
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub "${AWS::StackName}-fn-${Stage}"
      Handler: app.handler
      CodeUri: src
      Environment:
        Variables:
          QUEUE: !GetAtt Queue.QueueName
          JOINED: !Join ["+", !Ref Subnets]
          PICK: !If [HasTwo, two, one]
          GONE: !If [IsDev, !Ref AWS::NoValue, kept]
          SPLIT: !Select [0, !Split ["-", !Sub "${Stage}-x"]]
"""


def _small(**overrides: Any) -> LocalTemplate:
    return LocalTemplate(
        path=Path("/tmp/t.yaml"), document=loads_template(SMALL), parameter_overrides=overrides
    )


def test_intrinsic_functions_resolve_locally() -> None:
    spec = _small().function("Fn")

    assert spec.config.name == "jobu-fn-dev"
    assert spec.config.environment == {"QUEUE": "jobu-Queue", "JOINED": "a+b", "PICK": "two", "SPLIT": "dev"}


def test_conditions_follow_overridden_parameters() -> None:
    template = _small(Stage="prod")

    assert template.queues() == {}
    assert template.function("Fn").config.environment["GONE"] == "kept"
