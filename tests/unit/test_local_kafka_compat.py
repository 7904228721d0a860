"""The Kafka front of the embedded broker: ApiVersions v3 answers as Apache Kafka sends them."""

from __future__ import annotations

import struct

import pytest

from jobu_local.aws.kafka.compat import ProtocolError, read_uvarint, strip_default_tags, write_uvarint

# The tagged fields Tansu 0.6.0 sends (captured from its ApiVersions v3 response): SupportedFeatures
# empty, FinalizedFeaturesEpoch -1, FinalizedFeatures empty, ZkMigrationReady false.
TANSU_TAGS = bytes.fromhex("040001010108ffffffffffffffff020101030100")


def api_versions_v3(tags: bytes, keys: tuple[tuple[int, int, int], ...] = ((0, 0, 9), (18, 0, 3))) -> bytes:
    body = struct.pack(">ih", 7, 0) + write_uvarint(len(keys) + 1)
    for key, low, high in keys:
        body += struct.pack(">hhh", key, low, high) + b"\x00"
    return body + struct.pack(">i", 0) + tags


def test_default_valued_tagged_fields_are_left_out() -> None:
    assert strip_default_tags(api_versions_v3(TANSU_TAGS)) == api_versions_v3(b"\x00")


def test_a_tagged_field_with_a_value_of_its_own_is_kept() -> None:
    epoch = b"\x01\x08" + struct.pack(">q", 5)
    tags = b"\x02" + b"\x00\x01\x01" + epoch

    assert strip_default_tags(api_versions_v3(tags)) == api_versions_v3(b"\x01" + epoch)


def test_tagged_fields_of_each_api_key_are_skipped_by_their_size() -> None:
    frame = api_versions_v3(TANSU_TAGS, keys=())
    with_key_tags = frame[:6] + write_uvarint(2) + struct.pack(">hhh", 3, 0, 12) + b"\x01\x05\x02ab"
    with_key_tags += frame[7:]

    stripped = strip_default_tags(with_key_tags)

    assert stripped.endswith(struct.pack(">i", 0) + b"\x00")
    assert b"\x01\x05\x02ab" in stripped


def test_a_truncated_response_is_refused() -> None:
    with pytest.raises(ProtocolError):
        strip_default_tags(api_versions_v3(TANSU_TAGS)[:-3])


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**31 - 1, 2**63])
def test_unsigned_varints_round_trip(value: int) -> None:
    encoded = write_uvarint(value)
    assert read_uvarint(encoded + b"rest", 0) == (value, len(encoded))
