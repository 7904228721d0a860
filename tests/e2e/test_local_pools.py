"""Worker pools through the local runtime: each pool's worker runs as a function of its own (its own
queue, containers and log group), a `sample` run on the default pool's and a `pandas_preprocess`
run on the pipeline pool's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobu_local.commands.cli import main as jobu
from jobu_local.commands.produce import send
from tests.e2e.conftest import TOPIC, StartRuntime, runs_succeeded, wait_for

CSV = "order_id,customer,amount\n1,alice,10.50\n2,bob,3.00\n"


async def test_a_sample_run_and_a_pipeline_run_each_run_on_their_pools_worker(
    start_runtime: StartRuntime,
    sqlite_url: str,
    tmp_path: Path,
    *,
    state_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / "orders.csv").write_text(CSV)
    runtime = await start_runtime(
        sqlite_url,
        http_port=0,
        dashboard_port=None,
        parameter_overrides={"PipelineDataRoot": str(data)},
    )
    assert runtime.template is not None
    workers = {spec.logical_id for spec in runtime.template.functions() if spec.sqs}
    assert workers == {"WorkerFunction", "PipelineWorkerFunction"}

    pipeline = {"input_path": str(data / "orders.csv"), "output_path": str(data / "orders.parquet")}
    for handler, params in (("sample", {"name": "light"}), ("pandas_preprocess", pipeline)):
        message = {"handler_name": handler, "params": params, "job_id": None}
        await send(runtime.bootstrap_servers, TOPIC, json.dumps(message).encode())
    runs = {run.handler_name: run for run in await runs_succeeded(sqlite_url, 2, within=60)}
    assert (data / "orders.parquet").is_file()

    monkeypatch.setenv("JOBU_LOCAL_STATE_DIR", str(state_dir))

    def logged(function: str, execution_id: int) -> list[dict[str, object]]:
        capsys.readouterr()
        assert jobu(["logs", function, "--execution-id", str(execution_id), "--json"]) == 0
        return [json.loads(str(json.loads(line)["message"])) for line in capsys.readouterr().out.splitlines()]

    async def in_its_group(function: str, execution_id: int) -> list[dict[str, object]]:
        lines = logged(function, execution_id)
        return lines if any(line.get("message") == "run succeeded" for line in lines) else []

    sample, converted = runs["sample"].id, runs["pandas_preprocess"].id
    default_lines = await wait_for(
        lambda: in_its_group("WorkerFunction", sample), what="the sample run's logs"
    )
    pipeline_lines = await wait_for(
        lambda: in_its_group("PipelineWorkerFunction", converted), what="the pipeline run's logs"
    )
    assert {line["function_name"] for line in default_lines} == {"jobu-WorkerFunction"}
    assert {line["function_name"] for line in pipeline_lines} == {"jobu-PipelineWorkerFunction"}
    # and each run's lines are in its own pool's log group only
    assert logged("PipelineWorkerFunction", sample) == []
    assert logged("WorkerFunction", converted) == []
