"""`jobu produce`: send a job message to the Kafka topic, refusing bad ones before they are sent."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobu_local.commands.common import CommandError, json_object, known_handlers
from jobu_local.commands.table import kafka_coordinates
from jobu_local.commands.targets import (
    DEFAULT_TOPIC,
    TargetError,
    bootstrap_servers,
    load_template,
    running_state,
)
from jobu_local.errors import Refusal
from jobu_local.template.intrinsics import TemplateError


class MessageError(Refusal, ValueError):
    """The message would be rejected by the queue dispatcher; nothing was sent."""


@dataclass(frozen=True)
class Sent:
    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return kafka_coordinates(self.topic, self.partition, self.offset)


def build_message(
    *,
    handler_name: str | None,
    params_json: str | None,
    job_id: int | None,
    document_text: str | None,
    known_handlers: Set[str],
) -> dict[str, Any]:
    """The seed's message format {"handler_name", "params", "job_id"}, from flags or a JSON document."""
    if document_text is not None:
        message = json_object(document_text, "the message file", MessageError)
    else:
        if not handler_name:
            raise MessageError("give --handler NAME (or a JSON message with --file)")
        params = json_object(params_json, "--params", MessageError) if params_json is not None else {}
        message = {"handler_name": handler_name, "params": params, "job_id": job_id}
    validate_message(message, known_handlers)
    return message


def validate_message(message: dict[str, Any], known_handlers: Set[str]) -> None:
    name = message.get("handler_name")
    if not isinstance(name, str) or not name:
        raise MessageError('the message needs "handler_name" (a non-empty string)')
    if name not in known_handlers:
        raise MessageError(f"unknown handler {name!r}; the worker has: {', '.join(sorted(known_handlers))}")
    params = message.get("params", {})
    if not isinstance(params, dict):
        raise MessageError(f'"params" must be a JSON object, not {type(params).__name__}')
    job_id = message.get("job_id")
    if job_id is not None and (not isinstance(job_id, int) or isinstance(job_id, bool)):
        raise MessageError(f'"job_id" must be a whole number or null, not {job_id!r}')


async def send(bootstrap_servers: str, topic: str, value: bytes, key: bytes | None = None) -> Sent:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
    await producer.start()
    try:
        metadata = await producer.send_and_wait(topic, value=value, key=key)
    finally:
        await producer.stop()
    return Sent(metadata.topic, metadata.partition, metadata.offset)


def cmd_produce(args: argparse.Namespace) -> int:
    if args.file is not None:
        document = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
        value = document.encode()
    else:
        document = None
    if args.no_validate:
        if document is None:
            raise CommandError("--no-validate sends a file (--file) as it is")
    else:
        message = build_message(
            handler_name=args.handler,
            params_json=args.params,
            job_id=args.job_id,
            document_text=document,
            known_handlers=known_handlers(),
        )
        value = json.dumps(message).encode()
    topic = args.topic or _topic()
    sent = asyncio.run(
        send(bootstrap_servers(args.bootstrap_servers), topic, value, args.key.encode() if args.key else None)
    )
    print(f"sent to {sent}: {value.decode()}")
    return 0


def _topic() -> str:
    state = running_state()
    if state is not None and len(state.topics) == 1:
        return state.topics[0]
    try:
        topics = load_template(None).kafka_topics()
    except (TargetError, TemplateError, OSError):
        return DEFAULT_TOPIC
    return topics[0] if len(topics) == 1 else DEFAULT_TOPIC


def add_parser(commands: Any) -> None:
    produce = commands.add_parser("produce", help="send a job message to the Kafka topic")
    produce.add_argument("--handler", help="handler_name")
    produce.add_argument("--params", help="params as a JSON object")
    produce.add_argument("--job-id", type=int, help="job_id of a cron job whose params are the base")
    produce.add_argument("--file", help="a JSON message file ('-' for stdin) instead of the flags")
    produce.add_argument("--key", help="the record key")
    produce.add_argument("--topic", help=f"default: the template's topic ({DEFAULT_TOPIC})")
    produce.add_argument(
        "--bootstrap-servers", help="default: KAFKA_BOOTSTRAP_SERVERS, else the runtime's broker"
    )
    produce.add_argument(
        "--no-validate", action="store_true", help="send --file as it is (to test rejections)"
    )
    produce.set_defaults(run=cmd_produce)
