"""pandas_preprocess's work: CSV in, cleaned Parquet out (blocking; run it in a thread).

Imported by the handler when it runs, never at the worker's cold start: it imports pyarrow
(and pandas, for de-duplication) at module level.

The CSV is parsed by pyarrow's multithreaded reader with the declared column types, so the
common path never materialises Python objects; the cleaning steps then run in this order:
fill_nulls, drop_nulls, drop_duplicates (pandas), rename. Errors are diagnosed after the fact
(a second, slower pass only when the fast one failed) so that the message can name the line,
the column and the value.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]
import pyarrow.csv as pacsv  # type: ignore[import-untyped, unused-ignore]
import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]

from jobu_handlers.pipeline.errors import ColumnError, EmptyInputError, MalformedInputError
from jobu_handlers.pipeline.params import ColumnType, PreprocessParams

# Declared type -> Arrow type the reader converts to. Dates are read as timestamps (so that
# datetime_formats apply to them too) and cast to date32 afterwards.
_READ_TYPES: dict[ColumnType, Any] = {
    "string": pa.string(),
    "int8": pa.int8(),
    "int16": pa.int16(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "float32": pa.float32(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.timestamp("s"),
    "datetime": pa.timestamp("us"),
    "datetime_tz": pa.timestamp("us", tz="UTC"),
}
_BLOCK_SIZE = 4 << 20  # bytes per parse block: big enough to keep both cores busy on large files
_MAX_EXAMPLES = 5


@dataclass
class PreprocessStats:
    rows_in: int = 0
    rows_out: int = 0
    rows_skipped: int = 0
    null_rows_dropped: int = 0
    duplicates_dropped: int = 0
    columns: list[str] = field(default_factory=list)


def csv_to_parquet(params: PreprocessParams, source: BinaryIO, target: BinaryIO) -> PreprocessStats:
    """Read the CSV from `source` (an open file: read from its start, as often as the
    diagnostics need), clean it as `params` ask, write Parquet to `target`."""
    header = read_header(source, params)
    check_columns(params, header)
    stats = PreprocessStats()
    table = read_csv(params, source, stats)
    stats.rows_in = table.num_rows + stats.rows_skipped
    if table.num_rows == 0 and not params.allow_empty:
        raise EmptyInputError(f"input CSV has a header but no data rows: {params.input_path}")
    table = clean(params, table, stats)
    compression = None if params.compression == "none" else params.compression
    pq.write_table(table, target, compression=compression)
    stats.rows_out = table.num_rows
    stats.columns = list(table.column_names)
    return stats


def rewound(source: BinaryIO) -> BinaryIO:
    """The file, from its start again (each read of an input goes through the whole of it)."""
    source.seek(0)
    return source


def read_header(source: BinaryIO, params: PreprocessParams) -> list[str]:
    first_line = rewound(source).readline()
    try:
        header = next(csv.reader([first_line.decode(params.encoding)], delimiter=params.delimiter), [])
    except UnicodeDecodeError as error:
        raise MalformedInputError(
            f"CSV header of {params.input_path} is not valid {params.encoding}: {error}"
        ) from None
    if not any(name.strip() for name in header):
        raise EmptyInputError(f"input CSV has no header row: {params.input_path}")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise MalformedInputError(
            f"CSV header of {params.input_path} repeats column(s): {', '.join(duplicates)}"
        )
    return header


def check_columns(params: PreprocessParams, header: list[str]) -> None:
    """Every column the params name must exist (in the header, or among the kept columns)."""
    kept = set(params.columns if params.columns is not None else header)
    subset = params.drop_duplicates if isinstance(params.drop_duplicates, list) else []
    named = {
        "columns": params.columns or [],
        "dtypes": list(params.dtypes),
        "fill_nulls": list(params.fill_nulls),
        "drop_nulls": params.drop_nulls,
        "drop_duplicates": subset,
        "rename": list(params.rename),
    }
    problems = []
    for param, names in named.items():
        pool = set(header) if param == "columns" else kept
        missing = [name for name in names if name not in pool]
        if missing:
            problems.append(f"{param}: {', '.join(missing)}")
    if problems:
        raise ColumnError(
            f"params name columns that are not in the CSV ({'; '.join(problems)}); "
            f"its columns are: {', '.join(header)}"
        )
    renamed = [params.rename.get(name, name) for name in (params.columns or header)]
    clashes = sorted({name for name in renamed if renamed.count(name) > 1})
    if clashes:
        raise ColumnError(f"rename would give several columns the name(s): {', '.join(clashes)}")


def _options(params: PreprocessParams, *, as_text: bool = False, threads: bool = True) -> dict[str, Any]:
    types = {name: pa.string() if as_text else _READ_TYPES[kind] for name, kind in params.dtypes.items()}
    convert: dict[str, Any] = {"column_types": types, "strings_can_be_null": True}
    if params.columns is not None:
        convert["include_columns"] = params.columns
    if params.null_values is not None:
        convert["null_values"] = params.null_values
    if params.datetime_formats:
        convert["timestamp_parsers"] = params.datetime_formats
    return {
        "read_options": pacsv.ReadOptions(
            encoding=params.encoding, use_threads=threads, block_size=_BLOCK_SIZE
        ),
        "convert_options": pacsv.ConvertOptions(**convert),
    }


def read_csv(params: PreprocessParams, source: BinaryIO, stats: PreprocessStats) -> Any:
    bad_rows = 0

    def on_bad_row(_row: Any) -> str:
        nonlocal bad_rows
        bad_rows += 1
        return "skip"

    parse = pacsv.ParseOptions(delimiter=params.delimiter, invalid_row_handler=on_bad_row)
    try:
        table = pacsv.read_csv(rewound(source), parse_options=parse, **_options(params))
    except pa.ArrowInvalid as error:
        raise diagnose_conversion(params, source, error) from None
    if bad_rows and params.on_bad_lines == "error":
        raise malformed_rows_error(params, source)
    stats.rows_skipped = bad_rows
    # the reader falls back to raw bytes for a column that is not valid text in the encoding
    undecodable = [
        f.name for f in table.schema if pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)
    ]
    if undecodable:
        raise MalformedInputError(
            f"cannot read CSV {params.input_path}: column(s) {', '.join(undecodable)}"
            f" hold bytes that are not valid {params.encoding} text"
        )
    for name, kind in params.dtypes.items():
        if kind == "date" and name in table.column_names:
            index = table.column_names.index(name)
            table = table.set_column(index, name, pc.cast(table[name], pa.date32()))
    return table


def malformed_rows_error(params: PreprocessParams, source: BinaryIO) -> MalformedInputError:
    """Re-read single-threaded (row numbers are only known then) to list the malformed rows."""
    bad_rows: list[Any] = []

    def on_bad_row(row: Any) -> str:
        bad_rows.append(row)
        return "skip"

    parse = pacsv.ParseOptions(delimiter=params.delimiter, invalid_row_handler=on_bad_row)
    pacsv.read_csv(rewound(source), parse_options=parse, **_options(params, as_text=True, threads=False))
    examples = "; ".join(
        f"line {row.number}: {row.actual_columns} fields, expected {row.expected_columns} ({row.text[:80]!r})"
        for row in bad_rows[:_MAX_EXAMPLES]
    )
    return MalformedInputError(
        f"malformed CSV {params.input_path}: {len(bad_rows)} row(s) do not have as many fields as the header"
        f" (set on_bad_lines='skip' to drop them): {examples}"
    )


def diagnose_conversion(params: PreprocessParams, source: BinaryIO, error: Exception) -> Exception:
    """Name the column, row and value a declared type did not fit; else wrap pyarrow's message."""
    try:
        parse = pacsv.ParseOptions(delimiter=params.delimiter, invalid_row_handler=lambda _row: "skip")
        text = pacsv.read_csv(rewound(source), parse_options=parse, **_options(params, as_text=True))
    except pa.ArrowInvalid as second:
        return MalformedInputError(f"cannot read CSV {params.input_path}: {second}")
    for name, kind in params.dtypes.items():
        row = first_unconvertible(text[name], _READ_TYPES[kind], params.datetime_formats)
        if row is not None:
            value = text[name][row].as_py()
            return ColumnError(
                f"column {name!r} is declared {kind} but data row {row + 1} has {value!r}"
                f" ({params.input_path})"
            )
    return MalformedInputError(f"cannot read CSV {params.input_path}: {error}")


def first_unconvertible(column: Any, target: Any, formats: list[str]) -> int | None:
    """Index of the first value of a text column that does not convert, by bisection."""

    def converts(values: Any) -> bool:
        try:
            if pa.types.is_timestamp(target) and formats:
                _parse_timestamps(values, target, formats)
            else:
                pc.cast(values, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return False
        return True

    column = column.combine_chunks()
    if converts(column):
        return None
    low, high = 0, len(column)  # the first bad index is in [low, high)
    while high - low > 1:
        middle = (low + high) // 2
        if converts(column.slice(low, middle - low)):
            low = middle
        else:
            high = middle
    return low


def _parse_timestamps(values: Any, target: Any, formats: list[str]) -> Any:
    # the CSV reader tries the formats in order; so does this, value by value
    remaining = values
    for fmt in formats:
        parsed = pc.strptime(remaining, format=fmt, unit=target.unit, error_is_null=True)
        remaining = pc.if_else(pc.is_null(parsed), remaining, pa.scalar(None, pa.string()))
    if pc.any(pc.is_valid(remaining)).as_py():
        raise pa.ArrowInvalid("unparsable timestamp")
    return remaining


def clean(params: PreprocessParams, table: Any, stats: PreprocessStats) -> Any:
    table = fill_nulls(table, params.fill_nulls)
    if params.drop_nulls:
        before = table.num_rows
        mask = pc.is_valid(table[params.drop_nulls[0]])
        for name in params.drop_nulls[1:]:
            mask = pc.and_(mask, pc.is_valid(table[name]))
        table = table.filter(mask)
        stats.null_rows_dropped = before - table.num_rows
    if params.drop_duplicates:
        before = table.num_rows
        table = drop_duplicates(table, params)
        stats.duplicates_dropped = before - table.num_rows
    if params.rename:
        table = table.rename_columns([params.rename.get(name, name) for name in table.column_names])
    return table


def fill_nulls(table: Any, values: dict[str, Any]) -> Any:
    for name, value in values.items():
        column = table[name]
        try:
            fill = pa.scalar(value).cast(column.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise ColumnError(
                f"fill_nulls value {value!r} does not fit column {name!r} ({column.type}): {error}"
            ) from None
        table = table.set_column(table.column_names.index(name), name, pc.fill_null(column, fill))
    return table


def drop_duplicates(table: Any, params: PreprocessParams) -> Any:
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    subset = params.drop_duplicates if isinstance(params.drop_duplicates, list) else table.column_names
    frame = table.select(subset).to_pandas(types_mapper=pd.ArrowDtype)
    keep = ~frame.duplicated(keep=params.keep).to_numpy()
    return table.filter(pa.array(keep))
