"""Lambda's concurrency, locally: several containers of a function at once, each cold once then warm,
up to the function's concurrency; the SQS mapping's limit from its ScalingConfig; both read from
the template."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from jobu_local.aws.sqs import ConcurrencyRamp, sqs_concurrency
from jobu_local.host.config import FunctionDefinition
from jobu_local.host.pool import ACCOUNT_CONCURRENCY, FunctionPool, concurrency_limit
from jobu_local.template.cfn_yaml import loads_template
from jobu_local.template.reader import LocalTemplate, SqsSource
from tests.support.log_sink import MemoryLogSink

APP = """
import os, time

def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"pid": os.getpid()}
"""


def toy_config(code_dir: Path, reserved: int | None = None) -> FunctionDefinition:
    return FunctionDefinition(
        logical_id="ToyFunction",
        name="jobu-ToyFunction",
        handler="app.handler",
        code_dir=code_dir,
        layer_dirs=(),
        timeout_seconds=10,
        memory_mb=128,
        environment={},
        region="us-east-1",
        reserved_concurrency=reserved,
    )


@pytest.fixture
async def pool(tmp_path: Path) -> AsyncIterator[FunctionPool]:
    (tmp_path / "app.py").write_text(APP)
    function = FunctionPool(toy_config(tmp_path), MemoryLogSink(), limit=3)
    yield function
    await function.stop()


async def test_busy_containers_make_new_ones_up_to_the_limit(pool: FunctionPool) -> None:
    invocations = await asyncio.gather(*(pool.invoke({"sleep": 0.5}) for _ in range(4)))

    streams = [invocation.log_stream for invocation in invocations]
    assert len(pool.containers) == 3
    assert len(set(streams)) == 3  # one log stream per execution environment, as on Lambda
    assert sum(invocation.init_ms is not None for invocation in invocations) == 3  # three cold starts
    assert len({invocation.result["pid"] for invocation in invocations}) == 3
    assert pool.busy_peak == 3


async def test_a_free_container_is_reused_warm(pool: FunctionPool) -> None:
    first = await pool.invoke({})
    second = await pool.invoke({})

    assert first.init_ms is not None
    assert second.init_ms is None
    assert (second.log_stream, second.result["pid"]) == (first.log_stream, first.result["pid"])
    assert len(pool.containers) == 1


async def test_one_container_serves_one_invocation_at_a_time(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    single = FunctionPool(toy_config(tmp_path), MemoryLogSink(), limit=1)
    try:
        invocations = await asyncio.gather(*(single.invoke({"sleep": 0.2}) for _ in range(3)))
    finally:
        await single.stop()

    assert len({invocation.result["pid"] for invocation in invocations}) == 1
    assert [invocation.init_ms is None for invocation in invocations].count(False) == 1
    assert single.busy_peak == 1


def test_the_concurrency_limit_is_the_reserved_one_else_the_accounts(tmp_path: Path) -> None:
    assert concurrency_limit(toy_config(tmp_path, reserved=4)) == 4
    assert concurrency_limit(toy_config(tmp_path)) == ACCOUNT_CONCURRENCY == 1000
    assert concurrency_limit(toy_config(tmp_path, reserved=4), cap=1) == 1  # --max-concurrency 1
    assert concurrency_limit(toy_config(tmp_path, reserved=0)) == 1


def test_the_sqs_mapping_starts_at_five_and_climbs_300_a_minute_while_busy() -> None:
    now = [100.0]
    ramp = ConcurrencyRamp(25, clock=lambda: now[0])
    assert (ramp.limit(), ramp.seconds_to_next_step()) == (5, None)  # idle: only an ending makes room
    ramp.busy()
    now[0] += 0.5
    assert ramp.limit() == 7  # 5 + 2.5, as Lambda adds up to 300 invocations a minute
    assert ramp.seconds_to_next_step() == pytest.approx(0.1)
    ramp.busy()  # still busy: the climb goes on from where it started
    now[0] += 3.5
    assert ramp.limit() == 25  # never over the mapping's maximum concurrency
    assert ramp.seconds_to_next_step() is None
    ramp.idle()  # the queue drained: back to five
    assert ramp.limit() == 5
    assert ConcurrencyRamp(1).limit() == 1  # --max-concurrency 1


@pytest.mark.parametrize(
    ("maximum", "function_limit", "expected"),
    [(None, 1000, 1000), (None, 4, 4), (10, 1000, 10), (10, 4, 4), (1, 1000, 2), (5000, 2000, 1000)],
)
def test_the_sqs_mappings_concurrency(maximum: int | None, function_limit: int, expected: int) -> None:
    source = SqsSource("Work", "WorkQueue", 1, 0.0, True, True, maximum_concurrency=maximum)
    assert sqs_concurrency(source, function_limit) == expected


TEMPLATE = """
Parameters:
  Reserved: {Type: String, Default: "Enabled"}
Conditions:
  UseReserved: !Equals [!Ref Reserved, Enabled]
Resources:
  Queue:
    Type: AWS::SQS::Queue
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: worker
      Handler: app.handler
      ReservedConcurrentExecutions: !If [UseReserved, 7, !Ref AWS::NoValue]
      Events:
        Work:
          Type: SQS
          Properties:
            Queue: !GetAtt Queue.Arn
            ScalingConfig:
              MaximumConcurrency: 5
  Other:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: other
      Handler: app.handler
      Events:
        Work:
          Type: SQS
          Properties:
            Queue: !GetAtt Queue.Arn
"""


@pytest.mark.parametrize(("reserved", "expected"), [("Enabled", 7), ("Disabled", None)])
def test_the_template_gives_reserved_and_maximum_concurrency(
    tmp_path: Path, reserved: str, expected: int | None
) -> None:
    template = LocalTemplate(
        tmp_path / "template.yaml", loads_template(TEMPLATE), parameter_overrides={"Reserved": reserved}
    )
    worker, other = template.function("Worker"), template.function("Other")

    assert worker.config.reserved_concurrency == expected
    assert worker.sqs[0].maximum_concurrency == 5
    assert (other.config.reserved_concurrency, other.sqs[0].maximum_concurrency) == (None, None)
