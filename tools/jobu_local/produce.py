"""`jobu produce`: send a job message to the Kafka topic, refusing bad ones before they are sent."""

from __future__ import annotations

import json
from collections.abc import Set
from dataclasses import dataclass
from typing import Any


class MessageError(ValueError):
    """The message would be rejected by the queue dispatcher; nothing was sent."""


@dataclass(frozen=True)
class Sent:
    topic: str
    partition: int
    offset: int


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
        message = _json_object(document_text, "the message file")
    else:
        if not handler_name:
            raise MessageError("give --handler NAME (or a JSON message with --file)")
        params = _json_object(params_json, "--params") if params_json is not None else {}
        message = {"handler_name": handler_name, "params": params, "job_id": job_id}
    validate_message(message, known_handlers)
    return message


def _json_object(text: str, where: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as error:
        raise MessageError(f"{where} is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise MessageError(f"{where} must be a JSON object, not {type(value).__name__}")
    return value


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
