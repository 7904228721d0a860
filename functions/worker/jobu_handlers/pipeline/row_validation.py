"""pydantic_validator's work: every row through a pydantic model (blocking; run it in a thread).

Imported by the handler when it runs (it imports pyarrow at module level). Rows are read in
batches and the two outputs are streamed to their staging files, so memory stays bounded by
the batch size and the input table, not by Python objects for every row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, BinaryIO

import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.csv as pacsv  # type: ignore[import-untyped, unused-ignore]
import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]
from pydantic import BaseModel, ValidationError

from jobu_handlers.pipeline.errors import (
    EmptyInputError,
    MalformedInputError,
    PipelineError,
    RejectedRowsError,
)
from jobu_handlers.pipeline.models import arrow_type_name
from jobu_handlers.pipeline.params import ValidateParams

ROW_NUMBER_COLUMN = "_row_number"
ERRORS_COLUMN = "_errors"
_BATCH_ROWS = 50_000
_MAX_EXAMPLES = 3
_DECIMAL_DEFAULT = (38, 9)


@dataclass
class ValidationStats:
    rows_in: int = 0
    rows_valid: int = 0
    rows_rejected: int = 0


def input_format(params: ValidateParams) -> str:
    if params.input_format is not None:
        return params.input_format
    return "csv" if params.input_path.lower().endswith(".csv") else "parquet"


def output_format(path: str) -> str:
    return "csv" if path.lower().endswith(".csv") else "parquet"


def read_table(source: BinaryIO, fmt: str, shown_as: str) -> Any:
    """The input (an open file) as an Arrow table; CSV columns stay text (the model decides what
    they mean)."""
    try:
        if fmt == "parquet":
            return pq.read_table(source)
        header = pacsv.open_csv(source).schema.names
        options = pacsv.ConvertOptions(
            column_types=dict.fromkeys(header, pa.string()), strings_can_be_null=True
        )
        source.seek(0)
        return pacsv.read_csv(source, convert_options=options)
    except (pa.ArrowInvalid, OSError) as error:
        raise MalformedInputError(f"cannot read {shown_as} as {fmt}: {error}") from None


def arrow_schema(model: type[BaseModel]) -> Any:
    """The Arrow schema of the model's dumped rows (field names, in declaration order)."""
    fields = []
    for name, info in model.model_fields.items():
        try:
            kind, nullable = arrow_type_name(info.annotation)
        except PipelineError as error:
            raise PipelineError(f"validation model {model.__name__} field {name!r}: {error}") from None
        fields.append(pa.field(name, _arrow_type(kind, info.metadata), nullable=nullable))
    return pa.schema(fields)


def _arrow_type(kind: str, metadata: list[Any]) -> Any:
    if kind == "decimal":
        digits = next((m.max_digits for m in metadata if getattr(m, "max_digits", None)), None)
        places = next(
            (m.decimal_places for m in metadata if getattr(m, "decimal_places", None) is not None), None
        )
        precision, scale = _DECIMAL_DEFAULT
        return pa.decimal128(digits or precision, places if places is not None else scale)
    simple = {
        "bool": pa.bool_(),
        "int64": pa.int64(),
        "float64": pa.float64(),
        "string": pa.string(),
        "datetime": pa.timestamp("us"),
        "date": pa.date32(),
    }
    return simple[kind]


class _Writer:
    """A Parquet or CSV writer opened on first use (so a schema error surfaces early)."""

    def __init__(self, target: BinaryIO, fmt: str, schema: Any) -> None:
        self._writer = (
            pq.ParquetWriter(target, schema) if fmt == "parquet" else pacsv.CSVWriter(target, schema)
        )

    def write(self, table: Any) -> None:
        if table.num_rows:
            self._writer.write_table(table)

    def close(self) -> None:
        self._writer.close()


def describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"]) or "row"
        parts.append(f"{where}={item.get('input')!r}: {item['msg']}")
    return "; ".join(parts)


def validate_rows(
    params: ValidateParams,
    model: type[BaseModel],
    source: BinaryIO,
    valid_target: BinaryIO,
    rejected_target: BinaryIO,
) -> ValidationStats:
    """Split the rows of `source` (an open file) into valid rows (as the model dumps them) and
    rejected rows, written to the two targets."""
    table = read_table(source, input_format(params), params.input_path)
    stats = ValidationStats(rows_in=table.num_rows)
    if table.num_rows == 0 and not params.allow_empty:
        raise EmptyInputError(f"input has no data rows: {params.input_path}")
    valid_schema = arrow_schema(model)
    rejected_schema = table.schema.append(pa.field(ROW_NUMBER_COLUMN, pa.int64())).append(
        pa.field(ERRORS_COLUMN, pa.string())
    )
    valid_out = _Writer(valid_target, output_format(params.valid_output_path), valid_schema)
    rejected_out = _Writer(rejected_target, output_format(params.rejected_output_path), rejected_schema)
    examples: list[str] = []
    try:
        offset = 0
        for batch in table.to_batches(max_chunksize=_BATCH_ROWS):
            valid, rejected, errors = _validate_batch(model, batch.to_pylist())
            valid_out.write(pa.Table.from_pylist(valid, schema=valid_schema))
            if rejected:
                rows = pa.Table.from_batches([batch]).take(rejected)
                numbers = pa.array([offset + index + 1 for index in rejected], pa.int64())
                rows = rows.append_column(ROW_NUMBER_COLUMN, numbers).append_column(
                    ERRORS_COLUMN, pa.array(errors)
                )
                rejected_out.write(rows)
                examples += [f"row {offset + i + 1}: {e}" for i, e in zip(rejected, errors, strict=True)]
                del examples[_MAX_EXAMPLES:]
            stats.rows_valid += len(valid)
            stats.rows_rejected += len(rejected)
            offset += batch.num_rows
    finally:
        valid_out.close()
        rejected_out.close()
    _check_rejected(params, stats, examples)
    return stats


def _validate_batch(
    model: type[BaseModel], rows: list[dict[str, Any]]
) -> tuple[list[Any], list[int], list[str]]:
    valid: list[dict[str, Any]] = []
    rejected: list[int] = []
    errors: list[str] = []
    for index, row in enumerate(rows):
        try:
            valid.append(model.model_validate(row).model_dump())
        except ValidationError as error:
            rejected.append(index)
            errors.append(describe(error))
    return valid, rejected, errors


def _check_rejected(params: ValidateParams, stats: ValidationStats, examples: list[str]) -> None:
    limit = params.max_rejected_fraction
    if limit is None or stats.rows_in == 0 or stats.rows_rejected / stats.rows_in <= limit:
        return
    raise RejectedRowsError(
        f"{stats.rows_rejected} of {stats.rows_in} rows failed validation against model {params.model!r}, "
        f"more than max_rejected_fraction={limit}; nothing was written. First errors: {' | '.join(examples)}"
    )
