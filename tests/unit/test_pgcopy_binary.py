"""The binary COPY encoder's handling of Arrow layouts a Parquet reader may hand it (the values
themselves are checked against a real PostgreSQL: tests/integration/test_pipeline_copy_binary.py)."""

from __future__ import annotations

import random
import struct
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from jobu_handlers.pipeline import pgcopy_binary
from jobu_handlers.pipeline.errors import MalformedInputError

SCHEMA = pa.schema(
    [
        ("n", pa.int64()),
        ("s", pa.string()),
        ("d", pa.decimal128(12, 2)),
        ("f", pa.bool_()),
        ("b", pa.binary()),
    ]
)
PG_TYPES = ["int8", "text", "numeric", "bool", "bytea"]


def encoders(schema: pa.Schema = SCHEMA, pg_types: list[str] = PG_TYPES) -> list[pgcopy_binary.Encoder]:
    found = [pgcopy_binary.encoder(field.type, pg) for field, pg in zip(schema, pg_types, strict=True)]
    assert all(found)
    return [encoder for encoder in found if encoder is not None]


def rows(count: int) -> list[dict[str, object]]:
    return [
        {
            "n": None if i % 4 == 1 else i * 1000,
            "s": None if i % 3 == 2 else f"ü{i}",
            "d": None if i % 5 == 3 else Decimal(i) / 4,
            "f": None if i % 6 == 5 else i % 2 == 0,
            "b": None if i % 7 == 6 else bytes([i, 0, 255]),
        }
        for i in range(count)
    ]


def test_a_slice_encodes_as_the_same_rows_copied() -> None:
    batch = pa.RecordBatch.from_pylist(rows(40), SCHEMA)
    part = batch.slice(13, 17)  # each array's offset 13, not a multiple of 8 (validity bits)

    copied = pa.RecordBatch.from_pylist(part.to_pylist(), SCHEMA)

    assert bytes(pgcopy_binary.encode(part, encoders())) == bytes(pgcopy_binary.encode(copied, encoders()))


def test_a_null_whose_slot_holds_bytes_sends_none_of_them() -> None:
    offsets = pa.py_buffer(np.array([0, 3, 6], np.int32))
    validity = pa.py_buffer(np.array([0b10], np.uint8))  # row 0 null, its slot "abc"
    odd = pa.Array.from_buffers(pa.string(), 2, [validity, offsets, pa.py_buffer(b"abcdef")], 1)
    schema = pa.schema([("s", pa.string())])
    batch = pa.RecordBatch.from_arrays([odd], schema=schema)

    encoded = bytes(pgcopy_binary.encode(batch, encoders(schema, ["text"])))

    # per row: the field count, then -1 (NULL) / the length and the bytes
    assert encoded == b"\x00\x01\xff\xff\xff\xff" + b"\x00\x01\x00\x00\x00\x03def"


def test_a_decimal_beyond_its_declared_precision_is_refused() -> None:
    unscaled = np.array([1, 0, 10**6, 0], np.int64)  # 0.01 and 10000.00 (two int128s, little-endian)
    values = pa.Array.from_buffers(pa.decimal128(5, 2), 2, [None, pa.py_buffer(unscaled)])
    schema = pa.schema([("d", pa.decimal128(5, 2))])
    batch = pa.RecordBatch.from_arrays([values], schema=schema)

    with pytest.raises(MalformedInputError, match=r"does not fit its type decimal\(5, 2\)"):
        pgcopy_binary.encode(batch, encoders(schema, ["numeric"]))


@pytest.mark.parametrize(
    ("arrow", "pg_type"),
    [
        (pa.int64(), "int4"),
        (pa.uint64(), "int8"),
        (pa.float32(), "float8"),
        (pa.timestamp("ns"), "timestamp"),
        (pa.timestamp("us"), "timestamptz"),
        (pa.decimal128(19, 2), "numeric"),
        (pa.decimal128(5, -2), "numeric"),
        (pa.string(), "jsonb"),
        (pa.date64(), "date"),
        (pa.dictionary(pa.int32(), pa.string()), "text"),
    ],
)
def test_pairs_left_to_csv(arrow: pa.DataType, pg_type: str) -> None:
    assert pgcopy_binary.encoder(arrow, pg_type) is None


def numeric_value(field: bytes) -> Decimal:
    """PostgreSQL's numeric_recv, for the values the encoder writes."""
    count, weight, sign, scale = struct.unpack(">hhHH", field[:8])
    digits = struct.unpack(f">{count}H", field[8:])
    assert all(digit < 10_000 for digit in digits)
    magnitude = Decimal(0)
    for index, digit in enumerate(digits):
        magnitude += Decimal(int(digit)) * Decimal(10_000) ** (int(weight) - index)
    signed = -magnitude if sign == 0x4000 else magnitude
    return signed.quantize(Decimal(1).scaleb(-int(scale)))


@pytest.mark.parametrize("precision", [1, 2, 4, 5, 9, 12, 17, 18])
def test_numeric_digits_read_back_as_the_decimals(precision: int) -> None:
    rng = random.Random(precision)
    for scale in range(precision + 1):
        kind = pa.decimal128(precision, scale)
        largest = 10**precision - 1
        unscaled = [0, 1, -1, largest, -largest, *(rng.randint(-largest, largest) for _ in range(40))]
        values = [Decimal(value).scaleb(-scale) for value in unscaled]
        batch = pa.RecordBatch.from_arrays([pa.array(values, kind)], names=["d"])
        encoder = pgcopy_binary.encoder(kind, "numeric")
        assert encoder is not None

        encoded = bytes(pgcopy_binary.encode(batch, [encoder]))

        read, at = [], 0
        while at < len(encoded):
            (length,) = struct.unpack(">i", encoded[at + 2 : at + 6])  # after the field count
            read.append(numeric_value(encoded[at + 6 : at + 6 + length]))
            at += 6 + length
        assert read == values, (precision, scale)
