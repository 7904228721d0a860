"""A burst through the template's functions: the worker runs in several containers at once, never
more than its SQS MaximumConcurrency, each container cold for its first invocation and warm after."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiokafka import AIOKafkaProducer

from jobu_local.template.reader import LocalTemplate
from tests.e2e.conftest import TEMPLATE, TOPIC, StartRuntime, runs_succeeded

BURST = 60


async def produce_burst(servers: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=servers, acks="all")
    await producer.start()
    try:
        sent = [
            await producer.send(
                TOPIC, json.dumps({"handler_name": "sample", "params": {"id": n}, "job_id": None}).encode()
            )
            for n in range(BURST)
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


@pytest.mark.parametrize(("max_concurrency", "one_container"), [(None, False), (1, True)])
async def test_a_burst_runs_in_several_warm_containers_within_the_limit(
    start_runtime: StartRuntime, sqlite_url: str, max_concurrency: int | None, one_container: bool
) -> None:
    (source,) = LocalTemplate.load(TEMPLATE).function("WorkerFunction").sqs
    assert source.maximum_concurrency is not None
    runtime = await start_runtime(
        sqlite_url, functions=["queue-dispatcher", "worker"], max_concurrency=max_concurrency
    )

    await produce_burst(runtime.bootstrap_servers)

    await runs_succeeded(sqlite_url, BURST, within=90)
    worker = runtime.functions["WorkerFunction"]
    calls = [invocation for function, _, invocation in runtime.invocations if function == "WorkerFunction"]
    by_container: dict[str, list[bool]] = {}
    for invocation in calls:
        by_container.setdefault(invocation.log_stream, []).append(invocation.init_ms is not None)
    assert all(cold == [True] + [False] * (len(cold) - 1) for cold in by_container.values())
    assert len(by_container) == len(worker.containers) == worker.cold_starts
    if one_container:
        assert (len(worker.containers), worker.busy_peak, runtime.sqs_runners[0].pollers_peak) == (1, 1, 1)
    else:
        assert 1 < len(worker.containers) <= source.maximum_concurrency
        assert 1 < worker.busy_peak <= source.maximum_concurrency
