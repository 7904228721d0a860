"""What each function imports at cold start (issue 14): only what it needs, so Lambda's init is short.

Each check runs in a fresh interpreter with the environment the template gives the functions
(POWERTOOLS_TRACE_DISABLED=true unless TracingSubsegments is Enabled).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.function_environment import function_environment

ROOT = Path(__file__).resolve().parents[2]
PYTHONPATH = ":".join(str(ROOT / p) for p in (".", "layers/core/python", "functions/worker"))
FUNCTIONS = ("cron_dispatcher", "queue_dispatcher", "worker", "admin_api")
# What no entry point needs at import: the X-Ray SDK (SDK tracing is off), the AWS SDK (made on
# first use), the database drivers (only the configured one, when the store opens), pandas.
NEVER_AT_IMPORT = (
    "aws_xray_sdk",
    "boto3",
    "botocore.client",
    "asyncpg",
    "asyncmy",
    "aiosqlite",
    "pandas",
    "pyarrow",
)
BATCH = "aws_lambda_powertools.utilities.batch"
OPENAPI_MODELS = "aws_lambda_powertools.event_handler.openapi.models"


def loaded(
    code: str, modules: tuple[str, ...], *, trace_disabled: str = "true", **env: str
) -> dict[str, bool]:
    probe = (
        f"import sys\n{code}\nprint(__import__('json').dumps({{m: m in sys.modules for m in {modules!r}}}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        env=function_environment(
            PYTHONPATH=PYTHONPATH,
            PATH="/usr/bin:/bin",
            POWERTOOLS_TRACE_DISABLED=trace_disabled,
            AWS_DEFAULT_REGION="us-east-1",
            **env,
        ),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()[-1]
    result: dict[str, bool] = json.loads(out)
    return result


@pytest.mark.parametrize("function", FUNCTIONS)
def test_an_entry_point_imports_no_sdk_driver_or_pandas(function: str) -> None:
    found = loaded(f"import functions.{function}.app", (*NEVER_AT_IMPORT, BATCH, OPENAPI_MODELS))
    assert [name for name in NEVER_AT_IMPORT if found[name]] == []
    # Powertools' batch utilities are the worker's alone; OpenAPI's document models are read
    # only when /openapi.json is asked for
    assert found[BATCH] is (function == "worker")
    assert found[OPENAPI_MODELS] is False


def test_subsegment_tracing_still_loads_the_xray_sdk() -> None:
    # the probe sees the SDK when tracing is on (TracingSubsegments: Enabled)
    found = loaded("import functions.worker.app", ("aws_xray_sdk",), trace_disabled="false")
    assert found == {"aws_xray_sdk": True}


def test_the_worker_runs_a_message_with_the_configured_driver_only(tmp_path: Path) -> None:
    database = tmp_path / "jobu.db"
    invoke = f"""
import asyncio, json
from jobu.models import NewExecution
from jobu.store import open_store

async def one_run():
    store = await open_store("sqlite:///{database}")
    await store.migrate()
    new = NewExecution(job_id=None, handler_name="sample", params={{}}, param_source="event", max_retry=0,
                       timeout_seconds=30, source_topic="t", source_partition=0, source_offset=1)
    (run,) = await store.runs.insert_events([new], now=__import__("datetime").datetime.now())
    await store.close()
    return run.id

run_id = asyncio.run(one_run())
import functions.worker.app as app
from tests.support.lambda_events import Context, sqs_event
body = json.dumps({{"execution_id": run_id, "attempt": 0}})
event = sqs_event([{{"MessageId": "m", "ReceiptHandle": "h", "Body": body}}], "arn:aws:sqs:us-east-1:1:q")
assert app.handler(event, Context()) == {{"batchItemFailures": []}}
"""
    found = loaded(
        invoke,
        ("aiosqlite", "asyncpg", "asyncmy", "boto3"),
        JOBU_DATABASE_URL=f"sqlite:///{database}",
        JOBU_DATABASE_POOL_SIZE="1",
        JOBU_WORK_QUEUE_URL="https://sqs.us-east-1.amazonaws.com/1/unused",
        JOBU_DEAD_LETTER_QUEUE_URL="https://sqs.us-east-1.amazonaws.com/1/unused-dlq",
    )
    # a run that succeeds sends nothing: no SQS client, so boto3 is never imported
    assert found == {"aiosqlite": True, "asyncpg": False, "asyncmy": False, "boto3": False}
