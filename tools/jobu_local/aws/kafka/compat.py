"""A Kafka-protocol front for the embedded broker, so that librdkafka clients (kcat, confluent-kafka,
most non-JVM tooling) connect to it as they connect to Apache Kafka.

Why it exists: Tansu 0.6.0 answers ApiVersions v3 with all four of the response's tagged fields
(SupportedFeatures, FinalizedFeaturesEpoch, FinalizedFeatures, ZkMigrationReady) even when they hold
their default values; Apache Kafka leaves default-valued tagged fields out. librdkafka before 2.2.0
(Debian 12's kcat 1.7.1 has librdkafka 2.0.2) skips one byte too few per tagged field (fixed in
librdkafka PR #4278), so after two tags it reads garbage and fails with `ApiVersionRequest failed:
Local: Read underflow`. This front relays every frame unchanged except ApiVersions v3+ responses,
from which it drops the tagged fields that hold their defaults: the bytes Apache Kafka would send.

It runs as its own process (`python -m jobu_local.aws.kafka.compat LISTEN_PORT BROKER_PORT`), and
the broker advertises the front's address, so every connection a client makes goes through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import sys

from jobu_local.aws.loopback import LOOPBACK
from jobu_local.errors import JobuToolError

API_VERSIONS = 18
FIRST_FLEXIBLE_API_VERSIONS = 3
# ApiVersionsResponse v3 tagged fields and their default values (Kafka's ApiVersionsResponse.json):
# SupportedFeatures and FinalizedFeatures are empty compact arrays, FinalizedFeaturesEpoch is -1,
# ZkMigrationReady is false.
DEFAULT_TAGS = {0: b"\x01", 1: b"\xff" * 8, 2: b"\x01", 3: b"\x00"}
Pending = dict[int, tuple[int, int]]  # correlation id -> (api key, api version)


class ProtocolError(JobuToolError, ValueError):
    """A frame that is not what the Kafka protocol says it should be."""


def read_uvarint(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if position >= len(data):
            raise ProtocolError("unsigned varint runs past the end of the frame")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7


def write_uvarint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _skip_tags(data: bytes, position: int) -> int:
    count, position = read_uvarint(data, position)
    for _ in range(count):
        _tag, position = read_uvarint(data, position)
        size, position = read_uvarint(data, position)
        position += size
    return position


def _tags(data: bytes, position: int) -> tuple[list[tuple[int, bytes]], int]:
    count, position = read_uvarint(data, position)
    tags: list[tuple[int, bytes]] = []
    for _ in range(count):
        tag, position = read_uvarint(data, position)
        size, position = read_uvarint(data, position)
        tags.append((tag, data[position : position + size]))
        position += size
    return tags, position


def strip_default_tags(frame: bytes) -> bytes:
    """An ApiVersions v3+ response frame (without its length prefix) with default-valued tagged
    fields left out. The response header is v0 (correlation id only), as for every ApiVersions."""
    position = 4 + 2  # correlation id, error code
    entries, position = read_uvarint(frame, position)
    for _ in range(max(0, entries - 1)):
        position = _skip_tags(frame, position + 6)  # api key, min version, max version
    position += 4  # throttle time
    tags, end = _tags(frame, position)
    if end != len(frame):
        raise ProtocolError(f"ApiVersions response has {len(frame) - end} unread byte(s)")
    kept = [(tag, value) for tag, value in tags if DEFAULT_TAGS.get(tag) != value]
    encoded = b"".join(write_uvarint(tag) + write_uvarint(len(value)) + value for tag, value in kept)
    return frame[:position] + write_uvarint(len(kept)) + encoded


async def _read_frame(reader: asyncio.StreamReader) -> bytes | None:
    try:
        (size,) = struct.unpack(">i", await reader.readexactly(4))
        return await reader.readexactly(size)
    except asyncio.IncompleteReadError:
        return None


def _write_frame(writer: asyncio.StreamWriter, frame: bytes) -> None:
    writer.write(struct.pack(">i", len(frame)) + frame)


async def _requests(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, pending: Pending) -> None:
    while (frame := await _read_frame(reader)) is not None:
        api_key, api_version, correlation_id = struct.unpack_from(">hhi", frame)
        if api_key == API_VERSIONS:
            pending[correlation_id] = (api_key, api_version)
        _write_frame(writer, frame)
        await writer.drain()


async def _responses(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, pending: Pending) -> None:
    while (frame := await _read_frame(reader)) is not None:
        (correlation_id,) = struct.unpack_from(">i", frame)
        request = pending.pop(correlation_id, None)
        if request is not None and request[1] >= FIRST_FLEXIBLE_API_VERSIONS:
            frame = strip_default_tags(frame)
        _write_frame(writer, frame)
        await writer.drain()


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


async def relay(
    client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter, broker_port: int
) -> None:
    """One client connection, relayed to the broker until either side closes it."""
    try:
        broker_reader, broker_writer = await asyncio.open_connection(LOOPBACK, broker_port)
    except OSError:
        await _close(client_writer)
        return
    pending: Pending = {}
    directions = [
        asyncio.create_task(_requests(client_reader, broker_writer, pending)),
        asyncio.create_task(_responses(broker_reader, client_writer, pending)),
    ]
    try:
        await asyncio.wait(directions, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in directions:
            task.cancel()
        for task in directions:
            with contextlib.suppress(asyncio.CancelledError, OSError, ProtocolError, struct.error):
                await task
        await _close(broker_writer)
        await _close(client_writer)


async def serve(listen_port: int, broker_port: int) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await relay(reader, writer, broker_port)

    return await asyncio.start_server(handle, LOOPBACK, listen_port)


async def _main(listen_port: int, broker_port: int) -> None:
    server = await serve(listen_port, broker_port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(int(sys.argv[1]), int(sys.argv[2])))
