"""The params each pipeline step accepts, validated before any work starts.

A step's params are exactly the execution's stored params; an unknown key is refused (a typo
would otherwise be ignored silently). `on_success` is the worker's business (the step to run
next, see docs/pipeline.md); a step only lets it through.

Each model is its handler's `params_model`: the worker validates params into it, and its JSON
Schema is in the handler manifest, so the dispatchers refuse bad params at the edge. Paths,
buckets, databases and tables here are requests: jobu.access decides (docs/security.md).
"""

from __future__ import annotations

import re
from typing import Any, Literal, Self

from pydantic import Field, ValidationError, field_validator, model_validator

from jobu.access import JOB_STORE_DATABASE
from jobu.access_fields import DatabaseName, DataPath, TableName
from jobu.handlers import HandlerParams
from jobu_handlers.model_params import StrictParams
from jobu_handlers.pipeline.errors import InvalidParamsError

# The column types pandas_preprocess can declare; each maps to one Arrow type (see csv_parquet.py).
ColumnType = Literal[
    "string",
    "int8",
    "int16",
    "int32",
    "int64",
    "float32",
    "float64",
    "bool",
    "date",
    "datetime",
    "datetime_tz",
]
Scalar = str | int | float | bool

# A table or schema name: letters, digits and underscores, not starting with a digit. Quoting
# makes other names safe too, but a pipeline has no need for them and a strict rule is easier
# to trust than an escaping routine.
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


class StepParams(StrictParams):
    """What every pipeline step accepts besides its own params (HandlerParams' optional fields,
    `on_success`: the next step, and nothing unknown)."""


class PreprocessParams(StepParams):
    """pandas_preprocess: CSV in, cleaned Parquet out. The steps run in the order of the fields."""

    input_path: DataPath = Field(description="local path or s3://bucket/key of the CSV")
    output_path: DataPath = Field(description="local path or s3://bucket/key of the Parquet file")
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    encoding: str = "utf8"
    columns: list[str] | None = Field(default=None, description="keep only these input columns")
    dtypes: dict[str, ColumnType] = Field(default_factory=dict, description="column -> declared type")
    datetime_formats: list[str] = Field(
        default_factory=list, description="strptime formats for date/datetime columns (default ISO 8601)"
    )
    null_values: list[str] | None = Field(
        default=None, description="strings read as null (default: '', NULL, null, NA, N/A, NaN, ...)"
    )
    on_bad_lines: Literal["error", "skip"] = Field(
        default="error", description="rows whose field count differs from the header's"
    )
    fill_nulls: dict[str, Scalar] = Field(default_factory=dict, description="column -> value for its nulls")
    drop_nulls: list[str] = Field(default_factory=list, description="drop rows with a null in any of these")
    drop_duplicates: bool | list[str] = Field(
        default=False, description="true: rows equal in every column; a list: rows equal in those columns"
    )
    keep: Literal["first", "last"] = "first"
    rename: dict[str, str] = Field(default_factory=dict, description="input column -> output column")
    allow_empty: bool = Field(default=False, description="accept a CSV with a header but no data rows")
    compression: Literal["snappy", "zstd", "gzip", "none"] = "snappy"

    @model_validator(mode="after")
    def _distinct_paths(self) -> Self:
        if self.input_path == self.output_path:
            raise ValueError("output_path must differ from input_path")
        return self


class ValidateParams(StepParams):
    """pydantic_validator: rows of a Parquet or CSV file checked against a registered model."""

    input_path: DataPath
    model: str = Field(min_length=1, description="name of a model registered with @validation_model")
    valid_output_path: DataPath = Field(description="valid rows, as the model dumps them")
    rejected_output_path: DataPath = Field(description="rejected rows with _row_number and _errors")
    input_format: Literal["parquet", "csv"] | None = Field(
        default=None, description="default: from the input's suffix (.csv, else Parquet)"
    )
    max_rejected_fraction: float | None = Field(
        default=None, ge=0, le=1, description="fail (writing nothing) when more rows than this are rejected"
    )
    allow_empty: bool = False

    @model_validator(mode="after")
    def _distinct_paths(self) -> Self:
        paths = [self.input_path, self.valid_output_path, self.rejected_output_path]
        if len(set(paths)) != len(paths):
            raise ValueError("input_path, valid_output_path and rejected_output_path must all differ")
        return self


class LoadParams(StepParams):
    """db_loader: a Parquet file into an existing table, in one transaction."""

    input_path: DataPath
    table: TableName = Field(
        description="table name, or schema.table; used exactly as given (case-sensitive); must be in "
        "the operators' allow-list (JOBU_LOAD_TABLES)"
    )
    database: DatabaseName = Field(
        default=JOB_STORE_DATABASE,
        description="target database by the name operators gave it (JOBU_LOAD_DATABASES); "
        f"{JOB_STORE_DATABASE!r}: the job store's own database",
    )
    columns: list[str] | None = Field(default=None, description="load only these Parquet columns")
    mode: Literal["append", "replace"] = Field(
        default="append", description="replace: delete the table's rows in the same transaction first"
    )
    mysql_method: Literal["auto", "load_data", "insert"] = Field(
        default="auto", description="auto: LOAD DATA LOCAL INFILE, multi-row INSERT if the server refuses it"
    )
    allow_empty: bool = False

    @model_validator(mode="before")
    @classmethod
    def _no_connection_strings(cls, data: Any) -> Any:
        if isinstance(data, dict) and "database_url" in data:
            raise ValueError(
                "database_url is not accepted in params: name a configured database with `database`"
            )
        return data

    @field_validator("table")
    @classmethod
    def _valid_table(cls, value: str) -> str:
        parts = value.split(".")
        if len(parts) > 2 or not all(_IDENTIFIER.fullmatch(part) for part in parts):
            raise ValueError(
                f"table must be 'name' or 'schema.name' made of letters, digits and underscores: {value!r}"
            )
        return value

    @property
    def schema_name(self) -> str | None:
        return self.table.split(".")[0] if "." in self.table else None

    @property
    def table_name(self) -> str:
        return self.table.rsplit(".", 1)[-1]


def parse_params[P: StepParams](model: type[P], params: HandlerParams | StepParams, handler_name: str) -> P:
    """The execution's params validated into `model`; InvalidParamsError names every bad field."""
    if isinstance(params, model):
        return params  # the worker validated it already (the handler's params_model)
    raw = params.model_dump(exclude_unset=True)
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(_describe(item) for item in error.errors())
        raise InvalidParamsError(f"invalid params for {handler_name}: {problems}") from None


def _describe(item: Any) -> str:
    where = ".".join(str(part) for part in item["loc"]) or "params"
    return f"{where}: {item['msg']}"
