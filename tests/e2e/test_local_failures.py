"""Failure paths through the local runtime: what AWS's event source mappings do, done locally.

- a worker failure leaves the message on the queue; after maxReceiveCount receives the queue's own
  RedrivePolicy moves it to the dead-letter queue;
- a queue-dispatcher failure does not commit the Kafka offset (the batch is retried), and a batch
  that exhausts MaximumRetryAttempts goes to the OnFailure bucket before its offset is committed;
- Ctrl-C in the middle of an invocation stops every process the runtime started.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobu_local.commands.produce import send
from jobu_local.runtime.runtime import LocalRuntime
from jobu_local.runtime.state import RuntimeState
from tests.e2e.conftest import (
    REPO_ROOT,
    TOPIC,
    StartRuntime,
    committed_offsets,
    job_message,
    list_runs,
    wait_for,
)

UNREACHABLE_DATABASE = "postgresql://postgres@127.0.0.1:9/unreachable"  # discard port: connection refused


def _failures(runtime: LocalRuntime, logical_id: str) -> list[object]:
    return [inv for function, _, inv in runtime.invocations if function == logical_id and not inv.ok]


async def test_a_failing_work_message_is_redelivered_then_moved_to_the_dlq(
    start_runtime: StartRuntime, sqlite_url: str
) -> None:
    runtime = await start_runtime(sqlite_url, functions=["worker"])
    assert runtime.aws is not None
    assert runtime.provider is not None
    sqs = runtime.aws.client("sqs")
    queue = runtime.provider.queue_urls["WorkQueue"]
    dlq = runtime.provider.queue_urls["WorkDeadLetterQueue"]
    policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["RedrivePolicy"])["Attributes"][
            "RedrivePolicy"
        ]
    )
    # the template's visibility timeout is 6 x 900 s; one second keeps the redeliveries quick here
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"VisibilityTimeout": "1"})
    (poller,) = runtime.sqs_runners
    polls = poller.polls

    async def fresh_poll() -> bool:  # a receive already waiting still uses the old timeout
        return poller.polls >= polls + 2

    await wait_for(fresh_poll, what="a receive that started after the change")

    # a message the worker cannot process now (its database cannot be opened), so SQS redelivers
    # it; one that can never be parsed would go to the DLQ at once, by the worker's own hand
    database = Path(sqlite_url.removeprefix("sqlite:///"))
    await asyncio.to_thread(database.unlink)
    await asyncio.to_thread(database.mkdir)
    body = json.dumps({"execution_id": 1, "attempt": 0})
    message_id = sqs.send_message(QueueUrl=queue, MessageBody=body)["MessageId"]

    async def in_dlq() -> list[dict[str, object]]:
        response = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=1, WaitTimeSeconds=0)
        return list(response.get("Messages", []))

    (dead,) = await wait_for(in_dlq, within=40, interval=0.5, what="the message in the dead-letter queue")
    assert (dead["MessageId"], dead["Body"]) == (message_id, body)
    worker_calls = [inv for function, _, inv in runtime.invocations if function == "WorkerFunction"]
    assert len(worker_calls) == int(policy["maxReceiveCount"]) == 3
    for invocation in worker_calls:  # each time the worker reported the item, never the whole batch
        assert invocation.ok
        assert invocation.result == {"batchItemFailures": [{"itemIdentifier": message_id}]}
    assert sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0).get("Messages", []) == []


async def test_a_failing_queue_dispatcher_does_not_commit_the_kafka_offset(
    start_runtime: StartRuntime, sqlite_url: str
) -> None:
    runtime = await start_runtime(
        sqlite_url,
        functions=["queue-dispatcher"],
        function_environment={"QueueDispatcherFunction": {"JOBU_DATABASE_URL": UNREACHABLE_DATABASE}},
        kafka_retry_base_seconds=0.05,
    )

    sent = await send(runtime.bootstrap_servers, TOPIC, job_message(name="retried"))

    async def failed_three_times() -> bool:
        return len(_failures(runtime, "QueueDispatcherFunction")) >= 3

    await wait_for(failed_three_times, what="three failed queue-dispatcher invocations")
    assert await committed_offsets(runtime.bootstrap_servers) == {}
    (kafka,) = runtime.kafka_runners
    assert all(
        batch == [(sent.partition, sent.offset)] for batch in kafka.attempts
    )  # the same record each time
    assert len(kafka.attempts) >= 3
    assert await list_runs(sqlite_url) == []


async def test_a_batch_that_exhausts_its_retries_goes_to_the_failure_bucket_then_commits(
    start_runtime: StartRuntime, sqlite_url: str
) -> None:
    runtime = await start_runtime(
        sqlite_url,
        functions=["queue-dispatcher"],
        function_environment={"QueueDispatcherFunction": {"JOBU_DATABASE_URL": UNREACHABLE_DATABASE}},
        parameter_overrides={"KafkaMaximumRetryAttempts": "1"},
        kafka_retry_base_seconds=0.05,
    )
    assert runtime.aws is not None
    s3 = runtime.aws.client("s3")

    sent = await send(runtime.bootstrap_servers, TOPIC, job_message(name="given up"))

    async def committed() -> dict[int, int]:
        return await committed_offsets(runtime.bootstrap_servers)

    assert await wait_for(committed, what="the offset committed after the retries") == {
        sent.partition: sent.offset + 1
    }
    assert len(_failures(runtime, "QueueDispatcherFunction")) == 2  # the first attempt and one retry
    (bucket,) = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    (key,) = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    record = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    (records,) = record["payload"]["records"].values()
    assert [(r["partition"], r["offset"]) for r in records] == [(sent.partition, sent.offset)]


@pytest.fixture
def silent_database() -> Iterator[tuple[int, socket.socket]]:
    """A TCP port that accepts connections and never answers: an invocation using it hangs."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1], server


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"


async def test_ctrl_c_mid_invocation_stops_everything_the_runtime_started(
    tmp_path: Path, silent_database: tuple[int, socket.socket]
) -> None:
    port, server = silent_database
    env_vars = tmp_path / "env.json"
    env_vars.write_text(
        json.dumps(
            {"QueueDispatcherFunction": {"JOBU_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/db"}}
        )
    )
    state = tmp_path / "state"
    environment = {**os.environ, "PYTHONPATH": f"{REPO_ROOT / 'tools'}:{REPO_ROOT / 'layers/core/python'}"}
    environment.pop("AWS_ENDPOINT_URL", None)
    environment.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    command = [sys.executable, "-m", "jobu_local", "local", "up", "queue-dispatcher", "--quiet"]
    command += [
        "--env-vars",
        str(env_vars),
        "--state-dir",
        str(state),
        "--database-url",
        f"sqlite:///{tmp_path}/j.db",
    ]
    runtime = subprocess.Popen(  # noqa: ASYNC220 (returns at once; the test polls it)
        command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:

        async def running() -> RuntimeState | None:
            assert runtime.poll() is None, runtime.stdout.read() if runtime.stdout else ""
            return RuntimeState.read(state)

        started = await wait_for(running, what="the runtime's state file")
        await send(started.kafka_bootstrap_servers, TOPIC, job_message(name="stuck"))
        server.settimeout(30)
        connection, _ = await asyncio.to_thread(server.accept)  # the dispatcher is now mid-invocation
        children = _children(runtime.pid)
        assert len(children) == 4  # moto server, Tansu, its Kafka front, the queue dispatcher's process

        runtime.send_signal(signal.SIGINT)
        output, _ = await asyncio.to_thread(runtime.communicate, timeout=30)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)

        assert runtime.returncode == 0, output.decode()
        assert [pid for pid in children if _alive(pid)] == []
        assert b"stopped" in output
        assert RuntimeState.read(state) is None
        with connection:  # the function's process is gone, and its connection with it
            connection.settimeout(5)
            while connection.recv(4096):  # what the client had sent (its startup message), then EOF
                pass
    finally:
        if runtime.poll() is None:
            runtime.kill()
            runtime.wait()
