"""The three pipeline handlers: pandas_preprocess, pydantic_validator, db_loader.

This module is imported at the worker's cold start, so it imports neither pandas nor pyarrow:
each handler imports its work module (csv_parquet, row_validation, bulk_load) when it runs,
and runs the CPU-bound part in a thread so the worker's event loop (and its timeout) stays
responsive.
"""

from __future__ import annotations

import asyncio
import threading
import time

from jobu.access import DataAccess
from jobu.handlers import BaseHandler, HandlerParams, HandlerResult, handler
from jobu_handlers.configured import data_access, database_url
from jobu_handlers.pipeline.models import get_validation_model
from jobu_handlers.pipeline.params import LoadParams, PreprocessParams, ValidateParams, parse_params
from jobu_handlers.pipeline.results import LoadResult, PreprocessResult, ValidateResult
from jobu_handlers.pipeline.storage import Files
from jobu_handlers.pipeline.threads import in_thread

# The pipeline's own worker (template.yaml: PipelineWorkerFunction): the data layer (pandas,
# pyarrow), more memory, a longer timeout; the default pool's worker stays light.
PIPELINE_POOL = "pipeline"


@handler("pandas_preprocess")
class PandasPreprocess(BaseHandler):
    """CSV (local or S3) -> typed, cleaned Parquet (local or S3)."""

    pool = PIPELINE_POOL
    params_model = PreprocessParams

    async def execute(self, params: HandlerParams) -> HandlerResult:
        step = parse_params(PreprocessParams, params, self.name)
        access = data_access(self)
        return await in_thread(lambda cancelled: _preprocess(step, access, cancelled))


def _preprocess(step: PreprocessParams, access: DataAccess, cancelled: threading.Event) -> PreprocessResult:
    from jobu_handlers.pipeline.csv_parquet import csv_to_parquet

    started = time.perf_counter()
    with Files(access, cancelled=cancelled) as files:
        # every path is checked (jobu.access) before the input is opened
        output = files.output(step.output_path)
        source, bytes_read = files.fetch(step.input_path)
        stats = csv_to_parquet(step, source, output.stream)
        bytes_written = files.publish(output)
    return PreprocessResult(
        action="pandas_preprocess",
        count=stats.rows_out,
        output_path=step.output_path,
        rows_in=stats.rows_in,
        rows_out=stats.rows_out,
        rows_skipped=stats.rows_skipped,
        null_rows_dropped=stats.null_rows_dropped,
        duplicates_dropped=stats.duplicates_dropped,
        columns=stats.columns,
        bytes_read=bytes_read,
        bytes_written=bytes_written,
        elapsed_seconds=round(time.perf_counter() - started, 3),
    )


@handler("pydantic_validator")
class PydanticValidator(BaseHandler):
    """Rows of a Parquet/CSV file through a registered pydantic model: valid and rejected outputs."""

    pool = PIPELINE_POOL
    params_model = ValidateParams

    async def execute(self, params: HandlerParams) -> HandlerResult:
        step = parse_params(ValidateParams, params, self.name)
        get_validation_model(step.model)  # an unknown model fails before any download
        access = data_access(self)
        return await in_thread(lambda cancelled: _validate(step, access, cancelled))


def _validate(step: ValidateParams, access: DataAccess, cancelled: threading.Event) -> ValidateResult:
    from jobu_handlers.pipeline.row_validation import validate_rows

    started = time.perf_counter()
    with Files(access, cancelled=cancelled) as files:
        # every path is checked (jobu.access) before the input is opened
        valid = files.output(step.valid_output_path)
        rejected = files.output(step.rejected_output_path)
        source, bytes_read = files.fetch(step.input_path)
        stats = validate_rows(step, get_validation_model(step.model), source, valid.stream, rejected.stream)
        bytes_written = files.publish(valid, rejected)
    return ValidateResult(
        action="pydantic_validator",
        count=stats.rows_valid,
        model=step.model,
        valid_output_path=step.valid_output_path,
        rejected_output_path=step.rejected_output_path,
        rows_in=stats.rows_in,
        rows_valid=stats.rows_valid,
        rows_rejected=stats.rows_rejected,
        bytes_read=bytes_read,
        bytes_written=bytes_written,
        elapsed_seconds=round(time.perf_counter() - started, 3),
    )


@handler("db_loader")
class DbLoader(BaseHandler):
    """A Parquet file (local or S3) into an existing table, in one transaction."""

    pool = PIPELINE_POOL
    params_model = LoadParams

    async def execute(self, params: HandlerParams) -> HandlerResult:
        from jobu_handlers.pipeline.bulk_load import open_input, target_for

        step = parse_params(LoadParams, params, self.name)
        access = data_access(self)
        # refused before the input is fetched or any database is reached
        access.load_table(step.database, step.table)
        target = target_for(await database_url(self, step.database))
        started = time.perf_counter()
        with Files(access) as files:
            source, bytes_read = await asyncio.to_thread(files.fetch, step.input_path)
            data = await asyncio.to_thread(open_input, step, source)
            outcome = await target.load(step, data, files.scratch)
        return LoadResult(
            action="db_loader",
            count=outcome.rows_loaded,
            table=step.table,
            backend=outcome.backend,
            method=outcome.method,
            rows_loaded=outcome.rows_loaded,
            rows_deleted=outcome.rows_deleted,
            bytes_read=bytes_read,
            elapsed_seconds=round(time.perf_counter() - started, 3),
        )
