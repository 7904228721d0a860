"""Arrow record batches as PostgreSQL's binary COPY stream (COPY ... FROM STDIN WITH (FORMAT binary)).

Each value goes in its column type's own binary form (what the type's `recv` function reads), so the
server parses no text: an integer is 8 bytes, a timestamp a count of microseconds. Built a column at
a time with numpy and pyarrow's kernels, no Python object per value: a row is a 2-byte field count,
then each field, a 4-byte big-endian length and the value (a NULL is the length -1 alone).

Only pairs of an Arrow type and a PostgreSQL type whose binary form says exactly what the CSV text
would have said are encoded here (`encoder` returns None for any other pair, and the load sends CSV
instead, which the server converts with its own input functions): a binary value must be of the
column's own type, and the server would misread, not convert, any other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]

from jobu_handlers.pipeline.errors import MalformedInputError

# the signature, the flags field (no OIDs) and the header extension's length (none)
HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"  # a field count of -1
_EPOCH_SECONDS = 946_684_800  # PostgreSQL's dates and times count from 2000-01-01 (UTC)
_EPOCH_DAYS = 10_957
_MICROS = {"s": 1_000_000, "ms": 1_000, "us": 1}
_INTEGERS = {"int2": 2, "int4": 4, "int8": 8}
_NUMERIC_POSITIVE, _NUMERIC_NEGATIVE = 0x0000, 0x4000
_NUMERIC_MAX_PRECISION = 18  # unscaled values that fit an int64


@dataclass(frozen=True)
class Fields:
    """One column of a batch as binary values: each row's value length (-1: NULL; an int when all
    are the same), and the values, either `fixed` (numpy, written as `wire`, a null's ignored) or
    `variable` (an Arrow large_binary array, a null's entry empty)."""

    lengths: np.ndarray[Any, Any] | int
    valid: np.ndarray[Any, Any] | None = None  # None: no nulls
    fixed: np.ndarray[Any, Any] | None = None
    wire: Any = None  # the numpy dtype of a fixed value as sent (big-endian)
    variable: Any = None


# One column of a batch -> its Fields
Encoder = Callable[[Any], Fields]


def encoder(arrow_type: Any, pg_type: str) -> Encoder | None:
    """How a column of `arrow_type` is written for a column of the built-in type `pg_type` (its
    pg_catalog name, e.g. int8, timestamptz), or None if the pair is left to CSV."""
    kind = arrow_type
    if pa.types.is_integer(kind):
        width = _INTEGERS.get(pg_type, 0)
        # only types that always fit: a narrower column's range errors are the server's (CSV)
        signed = pa.types.is_signed_integer(kind)
        fits = kind.bit_width < width * 8 or (kind.bit_width == width * 8 and signed)
        return _fixed(kind, f">i{width}") if fits else None
    if pa.types.is_timestamp(kind):
        # a zoned Arrow timestamp is UTC; a naive one into timestamptz is read in the session's
        # time zone as text, which is left to the server (as nanoseconds, rounded by it, are)
        zone_fits = pg_type == "timestamp" or (pg_type == "timestamptz" and kind.tz is not None)
        return _timestamp if zone_fits and kind.unit in _MICROS else None
    if pa.types.is_decimal128(kind):
        fits = pg_type == "numeric" and kind.scale >= 0 and kind.precision <= _NUMERIC_MAX_PRECISION
        return _numeric(kind.precision, kind.scale) if fits else None
    for is_kind, pg_types, make in _PAIRS:
        if pg_type in pg_types and is_kind(kind):
            return make(kind)
    return None


def encode(batch: Any, encoders: list[Encoder]) -> memoryview:
    """The batch's rows as binary COPY tuples (without the header or trailer).

    A row's fields, laid side by side, are runs of fixed width (the field count, every length,
    the values of fixed-width columns without nulls: a numpy record per row) and the values
    between them (strings, and fixed-width columns with nulls): each run or value column an Arrow
    array of one entry per row. pyarrow interleaves the arrays' entries row by row (`take` on
    their concatenation), and the result's data buffer is the stream."""
    count = batch.num_rows
    if count == 0:
        return memoryview(b"")
    pieces: list[Any] = []
    run: list[tuple[Any, Any]] = [(">i2", batch.num_columns)]
    for index, column in enumerate(batch.columns):
        try:
            fields = encoders[index](column)
        except pa.ArrowInvalid as error:  # e.g. a time beyond what microseconds count
            raise MalformedInputError(f"cannot convert the input for loading: {error}") from None
        run.append((">i4", fields.lengths))
        if fields.fixed is not None and fields.valid is None:
            run.append((fields.wire, fields.fixed))
            continue
        pieces.append(_run_array(run, count))
        run = []
        if fields.fixed is None:
            pieces.append(fields.variable)
        else:
            assert fields.valid is not None
            pieces.append(_compacted(fields.fixed.astype(fields.wire), fields.valid))
    if run:
        pieces.append(_run_array(run, count))
    rows = pieces[0] if len(pieces) == 1 else pa.concat_arrays(pieces).take(_row_order(count, len(pieces)))
    offsets = np.frombuffer(rows.buffers()[1], np.int64, len(rows) + 1, rows.offset * 8)
    start, end = int(offsets[0]), int(offsets[-1])
    return memoryview(rows.buffers()[2].slice(start, end - start))


@cache
def _row_order(count: int, pieces: int) -> Any:
    """Indices into `pieces` arrays of `count` entries each, concatenated: row by row."""
    return _int64s((np.arange(count)[:, None] + np.arange(pieces) * count).ravel())


def _binary(data: np.ndarray[Any, Any], offsets: np.ndarray[Any, Any]) -> Any:
    return pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), len(offsets) - 1, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def _run_array(run: list[tuple[Any, Any]], count: int) -> Any:
    """Fixed-width fields (a dtype and a value or one per row each) as one entry per row."""
    record = np.dtype([(f"f{index}", kind) for index, (kind, _) in enumerate(run)])  # packed
    block = np.empty(count, record)
    for index, (_, values) in enumerate(run):
        block[f"f{index}"] = values
    width = record.itemsize
    return _binary(block.view(np.uint8), np.arange(0, (count + 1) * width, width, dtype=np.int64))


def _compacted(fixed: np.ndarray[Any, Any], valid: np.ndarray[Any, Any]) -> Any:
    """The valid rows' values, a null's entry empty."""
    width = fixed.dtype.itemsize
    offsets = np.zeros(len(fixed) + 1, np.int64)
    np.cumsum(np.where(valid, width, 0), out=offsets[1:])
    return _binary(np.ascontiguousarray(fixed[valid]).view(np.uint8), offsets)


# Arrays are read and made from their buffers: converting Python or numpy values (pa.array,
# pa.scalar, to_numpy with nulls) has pyarrow import pandas where it is installed, seconds of it.


def _int64s(values: np.ndarray[Any, Any]) -> Any:
    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])


def _valid(column: Any) -> np.ndarray[Any, Any] | None:
    """Which rows hold a value; None when all do."""
    if not column.null_count:
        return None
    bits = np.unpackbits(np.frombuffer(column.buffers()[0], np.uint8), bitorder="little")
    return bits[column.offset : column.offset + len(column)].astype(bool)


def _numbers(column: Any, dtype: Any) -> np.ndarray[Any, Any]:
    """A fixed-width column's values buffer (a null's slot holds anything)."""
    kind = np.dtype(dtype)
    return np.frombuffer(column.buffers()[1], kind, len(column), column.offset * kind.itemsize)


def _fields(values: np.ndarray[Any, Any], wire: str | np.dtype[Any], column: Any) -> Fields:
    """Fixed-width `values` (one per row, sent as `wire`), null where `column` is."""
    valid = _valid(column)
    width = np.dtype(wire).itemsize
    return Fields(width if valid is None else np.where(valid, width, -1), valid, values, wire)


def _fixed(arrow_type: Any, wire: str) -> Encoder:
    if pa.types.is_floating(arrow_type):
        source = f"<f{arrow_type.bit_width // 8}"
    else:
        source = f"<{'i' if pa.types.is_signed_integer(arrow_type) else 'u'}{arrow_type.bit_width // 8}"
    return lambda column: _fields(_numbers(column, source), wire, column)


def _boolean(column: Any) -> Fields:
    bits = np.unpackbits(np.frombuffer(column.buffers()[1], np.uint8), bitorder="little")
    return _fields(bits[column.offset : column.offset + len(column)], ">u1", column)


def _date(column: Any) -> Fields:
    return _fields(_numbers(column, "<i4") - np.int32(_EPOCH_DAYS), ">i4", column)


def _timestamp(column: Any) -> Fields:
    # to microseconds first: pyarrow refuses (ArrowInvalid) a time that does not fit
    micros = _numbers(pc.cast(column, pa.timestamp("us", column.type.tz)), "<i8")
    return _fields(micros - np.int64(_EPOCH_SECONDS * 1_000_000), ">i8", column)


def _time(column: Any) -> Fields:
    return _fields(_numbers(pc.cast(column, pa.time64("us")), "<i8"), ">i8", column)


def _variable(column: Any) -> Fields:
    values = pc.cast(column, pa.large_binary())
    count = len(values)
    offsets = np.frombuffer(values.buffers()[1], np.int64, count + 1, values.offset * 8)
    spans = np.diff(offsets)
    valid = _valid(column)
    if valid is None:
        return Fields(spans, variable=values)
    data = values.buffers()[2]
    if np.any(spans[~valid]):  # a null's slot holding bytes: the values without them
        kept = np.frombuffer(data, np.uint8, int(offsets[-1] - offsets[0]), int(offsets[0]))
        data = pa.py_buffer(np.ascontiguousarray(kept[np.repeat(valid, spans)]))
        spans = np.where(valid, spans, 0)
        offsets = np.concatenate(([0], np.cumsum(spans)))
    # the same values with every null an empty entry
    empty_nulls = pa.Array.from_buffers(pa.large_binary(), count, [None, pa.py_buffer(offsets), data])
    return Fields(np.where(valid, spans, -1), valid, variable=empty_nulls)


def _numeric(precision: int, scale: int) -> Encoder:
    """NUMERIC's binary form: digit count, weight, sign, display scale (int16 each), then base-10000
    digits, most significant first. Every value of the column gets the same digits (leading and
    trailing zero digits included, which the server strips), so every field is the same width."""
    fraction_groups = -(-scale // 4)
    integer_groups = max(0, -(-(precision - scale) // 4))
    groups = integer_groups + fraction_groups
    pad = fraction_groups * 4 - scale  # decimal places the last group has beyond the scale
    header = np.array([groups, integer_groups - 1, 0, scale], ">i2")

    def encode_numeric(column: Any) -> Any:
        count = len(column)
        # the unscaled value is the 128-bit integer's low half (the precision keeps it in an int64)
        low = np.frombuffer(column.buffers()[1], np.int64, count * 2, column.offset * 16)[0::2]
        high = np.frombuffer(column.buffers()[1], np.int64, count * 2, column.offset * 16)[1::2]
        valid = _valid(column)
        if valid is not None:  # a null's slot holds anything
            low, high = np.where(valid, low, 0), np.where(valid, high, 0)
        magnitude = np.abs(low).astype(np.uint64)
        if np.any(high != (low >> 63)) or np.any(magnitude >= np.uint64(10**precision)):
            # what the Parquet file's own type promises; the digits below hold no more
            raise MalformedInputError(
                "cannot convert the input for loading:"
                f" a value does not fit its type decimal({precision}, {scale})"
            )
        layout = np.empty((count, 4 + groups), ">i2")
        layout[:, :4] = header
        layout[:, 2] = np.where(low < 0, _NUMERIC_NEGATIVE, _NUMERIC_POSITIVE)
        for group in range(groups):
            from_right = groups - 1 - group
            if fraction_groups and from_right == 0:
                digits = (magnitude % np.uint64(10 ** (4 - pad))) * np.uint64(10**pad)
            else:
                # the group's lowest decimal place, counted from the unscaled value's last one
                shift = 4 * from_right - pad if fraction_groups else 4 * from_right
                digits = (magnitude // np.uint64(10**shift)) % np.uint64(10_000)
            layout[:, 4 + group] = digits
        void = np.dtype((np.void, layout.shape[1] * 2))
        return _fields(layout.view(void).reshape(count), void, column)

    return encode_numeric


def _is_time(kind: Any) -> bool:
    return bool(pa.types.is_time32(kind) or (pa.types.is_time64(kind) and kind.unit == "us"))


def _is_text(kind: Any) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _is_bytes(kind: Any) -> bool:
    return bool(pa.types.is_binary(kind) or pa.types.is_large_binary(kind))


# (is the Arrow type one, the PostgreSQL types it goes to, its encoder given the Arrow type)
_PAIRS: tuple[tuple[Callable[[Any], bool], frozenset[str], Callable[[Any], Encoder]], ...] = (
    (pa.types.is_float64, frozenset({"float8"}), lambda kind: _fixed(kind, ">f8")),
    (pa.types.is_float32, frozenset({"float4"}), lambda kind: _fixed(kind, ">f4")),
    (pa.types.is_boolean, frozenset({"bool"}), lambda _: _boolean),
    (pa.types.is_date32, frozenset({"date"}), lambda _: _date),
    (_is_time, frozenset({"time"}), lambda _: _time),
    (_is_text, frozenset({"text", "varchar", "bpchar"}), lambda _: _variable),
    (_is_bytes, frozenset({"bytea"}), lambda _: _variable),
)
