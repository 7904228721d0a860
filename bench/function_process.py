"""What the benchmarks that run a function in a process of its own share: every pool's work queue
and dead-letter queue on the AWS endpoint (LocalStack), the function's environment as the template
sets it, pointed at them, and the child process itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jobu.constants import DEAD_LETTER_QUEUE_URL, WORK_QUEUE_URL, WORKER_TIMEOUT_SECONDS
from jobu.pools import pool_variable
from tests.support.function_environment import function_environment

ROOT = Path(__file__).resolve().parents[1]
ENDPOINT = os.environ.get("JOBU_BENCH_AWS_ENDPOINT", "http://127.0.0.1:4566")
POOLS = ("default", "pipeline")


def sqs_client() -> Any:
    import boto3

    return boto3.client(
        "sqs",
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


@contextmanager
def pool_queues(sqs: Any, prefix: str) -> Iterator[dict[str, str]]:
    """A work queue and a dead-letter queue for every pool ("work-default", "dead-pipeline", ...),
    named `<prefix>-<name>-<pool>-<tag>`; deleted afterwards."""
    tag = uuid.uuid4().hex[:8]
    queues = {
        f"{name}-{pool}": sqs.create_queue(QueueName=f"{prefix}-{name}-{pool}-{tag}")["QueueUrl"]
        for name in ("work", "dead")
        for pool in POOLS
    }
    try:
        yield queues
    finally:
        for queue_url in queues.values():
            sqs.delete_queue(QueueUrl=queue_url)


def process_environment(
    logical_id: str,
    database_url: str,
    queues: dict[str, str],
    passed: tuple[str, ...] = ("PATH", "HOME", "LANG"),
    **settings: str,
) -> dict[str, str]:
    """The environment of a process running `logical_id`'s entry point: the template's variables for
    it, the job store at `database_url`, every pool's queues from `queues`, a worker timeout of 60 s
    for every pool, `settings` over those; from this process's own only the names in `passed`."""
    base = {name: os.environ[name] for name in passed if name in os.environ}
    return base | {
        "PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in (".", "layers/core/python", "functions/worker")),
        "AWS_ENDPOINT_URL": ENDPOINT,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_LAMBDA_LOG_LEVEL": "INFO",
        **function_environment(
            function=logical_id,
            POWERTOOLS_METRICS_NAMESPACE="jobu-bench",
            JOBU_DATABASE_URL=database_url,
            **{pool_variable(WORK_QUEUE_URL, pool): queues[f"work-{pool}"] for pool in POOLS},
            **{pool_variable(DEAD_LETTER_QUEUE_URL, pool): queues[f"dead-{pool}"] for pool in POOLS},
            **{pool_variable(WORKER_TIMEOUT_SECONDS, pool): "60" for pool in POOLS},
            **settings,
        ),
    }


def run_child(
    script: str, kind: str, inputs: dict[str, Any], env: dict[str, str], wrapper: tuple[str, ...] = ()
) -> dict[str, Any]:
    """`script --child kind` in a fresh interpreter with `env`, `inputs` as JSON on its standard
    input (run under `wrapper`, a command such as valgrind's, when given); what it printed last,
    read as JSON."""
    out = subprocess.run(
        [*wrapper, sys.executable, script, "--child", kind],
        input=json.dumps(inputs),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{kind} child failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.splitlines()[-1])
    return result
