"""Kafka clients people already use produce to the local broker: kcat and confluent-kafka
(both librdkafka), next to aiokafka (the runtime's own). Each message becomes a run that succeeds,
created from the record the client wrote (its partition and offset)."""

from __future__ import annotations

import asyncio
import json
import subprocess

from confluent_kafka import Producer

from jobu_local.aws.kafka.broker import embedded_broker, ensure_topics
from jobu_local.aws.processes import free_port
from jobu_local.commands.produce import send
from tests.e2e.conftest import TOPIC, StartRuntime, committed_offsets, job_message, runs_succeeded


def kcat_produce(bootstrap_servers: str, value: bytes, key: str) -> tuple[int, int]:
    """Produce one record with kcat and read it back with kcat: (partition, offset)."""
    subprocess.run(
        ["kcat", "-b", bootstrap_servers, "-t", TOPIC, "-P", "-k", key, "-X", "acks=all"],
        input=value,
        check=True,
        timeout=30,
        capture_output=True,
    )
    listing = subprocess.run(
        ["kcat", "-b", bootstrap_servers, "-t", TOPIC, "-C", "-e", "-q", "-f", "%k %p %o\\n"],
        check=True,
        timeout=30,
        capture_output=True,
        text=True,
    ).stdout
    found = [line.split() for line in listing.splitlines() if line.startswith(f"{key} ")]
    assert len(found) == 1, listing
    return int(found[0][1]), int(found[0][2])


def confluent_produce(bootstrap_servers: str, value: bytes, key: str) -> tuple[int, int]:
    delivered: list[tuple[int, int]] = []
    errors: list[object] = []

    def report(error: object, message: object) -> None:
        if error is not None:
            errors.append(error)
        else:
            delivered.append((message.partition(), message.offset()))  # type: ignore[attr-defined]

    producer = Producer({"bootstrap.servers": bootstrap_servers, "acks": "all"})
    producer.produce(TOPIC, value=value, key=key.encode(), on_delivery=report)
    assert producer.flush(30) == 0
    assert errors == []
    return delivered[0]


async def test_kcat_confluent_kafka_and_aiokafka_messages_all_run(
    start_runtime: StartRuntime, sqlite_url: str
) -> None:
    runtime = await start_runtime(sqlite_url, functions=["queue-dispatcher", "worker"])
    servers = runtime.bootstrap_servers

    by_kcat = await asyncio.to_thread(kcat_produce, servers, job_message(name="kcat"), "from-kcat")
    by_confluent = await asyncio.to_thread(
        confluent_produce, servers, job_message(name="confluent"), "from-confluent"
    )
    by_aiokafka = await send(servers, TOPIC, job_message(name="aiokafka"), b"from-aiokafka")

    runs = await runs_succeeded(sqlite_url, 3)
    coordinates = {run.params["name"]: (run.source_partition, run.source_offset) for run in runs}
    assert coordinates == {
        "kcat": by_kcat,
        "confluent": by_confluent,
        "aiokafka": (by_aiokafka.partition, by_aiokafka.offset),
    }
    committed = await committed_offsets(servers)
    for partition, offset in coordinates.values():
        assert committed[partition] > offset  # type: ignore[index,operator]


def test_kcat_lists_the_local_topic_with_its_partitions() -> None:
    """kcat's metadata request (-L) against the embedded broker, started here on its own."""
    port = free_port()
    services = embedded_broker(port)
    try:
        for service in services:
            asyncio.run(service.start())
        asyncio.run(ensure_topics(f"127.0.0.1:{port}", ["listed-topic"], partitions=3))
        listing = subprocess.run(
            ["kcat", "-b", f"127.0.0.1:{port}", "-L", "-J"], check=True, timeout=30, capture_output=True
        ).stdout
    finally:
        for service in reversed(services):
            service.stop()
    topics = {topic["topic"]: len(topic["partitions"]) for topic in json.loads(listing)["topics"]}
    assert topics["listed-topic"] == 3
