"""pipeline_fanout and pipeline_join: every CSV of a folder converted in parallel, then loaded at once.

pipeline_fanout lists the CSV files directly in `input_prefix` (a local folder under the data root,
or an S3 prefix under the allowed locations: every path is checked by jobu.access before anything is
listed or made), and makes one batch (docs/executions.md, *Batches*) of pandas_preprocess runs, one
per file, whose on_success is a pipeline_join run with a db_loader run as its own on_success. It is
transactional: the batch is written in the run's transaction, so it exists once the run's SUCCESS is
recorded and never twice, however often the run is delivered or retried. The worker sends its runs
as soon as that transaction commits (one whose send is lost is the tick's sweeper's, as every
unsent run's).

The batch makes its on_success only when every conversion succeeded (a conversion that fails for
good ends the batch FAILED: nothing is joined or loaded). pipeline_join then writes the conversions'
Parquet files, in the files' order, into one Parquet file, and db_loader loads that file in one
transaction: all the folder's rows, or none.
"""

from __future__ import annotations

import asyncio
import os
import stat
import threading
from typing import Any

from jobu.access import DataAccess
from jobu.clock import utcnow
from jobu.handlers import BaseHandler, HandlerParams, HandlerResult, handler
from jobu.models import NewExecution
from jobu_handlers.configured import data_access
from jobu_handlers.pipeline.errors import InputNotFoundError, InvalidParamsError
from jobu_handlers.pipeline.handlers import PIPELINE_POOL
from jobu_handlers.pipeline.params import FanoutParams, JoinParams, PreprocessParams, parse_params
from jobu_handlers.pipeline.storage import Files, Location
from jobu_handlers.pipeline.threads import in_thread

CSV_SUFFIX = ".csv"
# what a callback must not pass on to a conversion: each conversion's next step is the batch's
_LINKS = {"on_success", "on_failure"}


@handler("pipeline_fanout")
class PipelineFanout(BaseHandler):
    """Every CSV of a folder -> a batch of pandas_preprocess runs -> pipeline_join -> db_loader."""

    pool = PIPELINE_POOL
    params_model = FanoutParams
    # the batch commits with this run's SUCCESS, or not at all: never twice for one run
    transactional = True

    async def execute(self, params: HandlerParams) -> HandlerResult:
        step = parse_params(FanoutParams, params, self.name)
        access = data_access(self)
        # refused before anything is listed or made
        access.load_table(step.database, step.table)
        inputs = await asyncio.to_thread(list_csvs, access, step.input_prefix, step.max_inputs)
        outputs = [_joined(step.output_prefix, _stem(path) + ".parquet") for path in inputs]
        if len(set(outputs)) != len(outputs):
            raise InvalidParamsError(f"two CSVs of {step.input_prefix} have the same name but for case")
        with Files(access) as files:
            for path in [*outputs, step.combined_path]:
                files.locate(path)  # an output the operators do not allow fails the run now
        if step.combined_path in inputs or step.combined_path in outputs:
            raise InvalidParamsError("combined_path must not be one of the inputs or outputs")
        options = step.preprocess.model_dump(mode="json", exclude_unset=True, exclude=_LINKS)
        runs = [
            NewExecution(
                job_id=None,
                handler_name="pandas_preprocess",
                params=_preprocess_params(source, output, options),
                param_source="api",
                max_retry=step.child_max_retry,
                timeout_seconds=step.child_timeout_seconds,
                trace_parent=self.context.trace_parent,
            )
            for source, output in zip(inputs, outputs, strict=True)
        ]
        load = {
            "input_path": step.combined_path,
            "table": step.table,
            "database": step.database,
            "mode": step.mode,
        }
        join = {
            "input_paths": outputs,
            "output_path": step.combined_path,
            "on_success": {"handler_name": "db_loader", "params": load},
        }
        batch, made = await self.context.database.create_batch(
            runs,
            on_success={
                "handler_name": "pipeline_join",
                "params": join,
                "max_retry": step.child_max_retry,  # db_loader, its on_success, inherits both
                "timeout_seconds": step.child_timeout_seconds,
            },
            on_complete=None,
            created_by=f"run:{self.context.execution_id}",
            now=utcnow(),
        )
        return HandlerResult(
            action="pipeline_fanout",
            count=len(made),
            batch_id=batch.id,
            run_ids=[run.id for run in made],
            inputs=inputs,
        )


def _preprocess_params(source: str, output: str, options: dict[str, Any]) -> dict[str, Any]:
    """A conversion's params, checked as the edge checks pandas_preprocess's (InvalidParamsError)."""
    params = {**options, "input_path": source, "output_path": output}
    parse_params(PreprocessParams, HandlerParams.model_validate(params), "pandas_preprocess")
    return params


def list_csvs(access: DataAccess, prefix: str, limit: int) -> list[str]:
    """The CSV files directly in `prefix`, by name, as paths of the same form; every one checked by
    jobu.access. More than `limit`, or none, fails the run."""
    location = Location.parse(prefix.rstrip("/"))  # a prefix may end with "/"; an object path may not
    names = _local_csvs(access, prefix) if location.local is not None else _s3_csvs(access, location)
    if not names:
        raise InputNotFoundError(f"no {CSV_SUFFIX} file in {prefix}")
    if len(names) > limit:
        raise InvalidParamsError(f"{len(names)} CSV files in {prefix}, more than max_inputs ({limit})")
    return [_joined(prefix, name) for name in sorted(names)]


def _local_csvs(access: DataAccess, prefix: str) -> list[str]:
    folder_path = access.local_path(prefix)
    try:
        folder = access.open_folder(folder_path)
    except FileNotFoundError:
        raise InputNotFoundError(f"input folder not found: {prefix}") from None
    with folder:
        names = []
        for name in os.listdir(folder.fd):
            if not name.lower().endswith(CSV_SUFFIX):
                continue
            # a regular file only: a link or a folder named *.csv is not followed
            if stat.S_ISREG(os.stat(name, dir_fd=folder.fd, follow_symlinks=False).st_mode):
                names.append(name)
        return names


def _s3_csvs(access: DataAccess, location: Location) -> list[str]:
    from jobu_handlers.pipeline.storage import s3_client

    key = location.key.rstrip("/")
    access.s3_object(location.bucket, key)  # the prefix itself, before it is listed
    names = []
    pages = s3_client().get_paginator("list_objects_v2")
    for page in pages.paginate(Bucket=location.bucket, Prefix=f"{key}/", Delimiter="/"):
        for item in page.get("Contents", []):
            name = str(item["Key"]).removeprefix(f"{key}/")
            if name.lower().endswith(CSV_SUFFIX):
                access.s3_object(location.bucket, f"{key}/{name}")
                names.append(name)
    return names


def _joined(prefix: str, name: str) -> str:
    return f"{prefix.rstrip('/')}/{name}"


def _stem(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name[: -len(CSV_SUFFIX)]


@handler("pipeline_join")
class PipelineJoin(BaseHandler):
    """Parquet files of one schema -> one Parquet file (pipeline_fanout's batch's on_success)."""

    pool = PIPELINE_POOL
    params_model = JoinParams

    async def execute(self, params: HandlerParams) -> HandlerResult:
        step = parse_params(JoinParams, params, self.name)
        access = data_access(self)
        return await in_thread(lambda cancelled: _join(step, access, cancelled))


def _join(step: JoinParams, access: DataAccess, cancelled: threading.Event) -> HandlerResult:
    import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
    import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]

    with Files(access, cancelled=cancelled) as files:
        # every path is checked (jobu.access) before the first input is opened
        output = files.output(step.output_path)
        for path in step.input_paths:
            files.locate(path)
        tables = []
        for path in step.input_paths:
            source, _ = files.fetch(path)
            tables.append(pq.read_table(source))
        try:
            # "default": a column all null in one file (typed null there) takes the others' type
            joined = pa.concat_tables(tables, promote_options="default")
        except pa.ArrowInvalid as error:
            raise InvalidParamsError(f"the files do not share one schema: {error}") from None
        pq.write_table(joined, output.stream)
        files.publish(output)
    return HandlerResult(action="pipeline_join", count=joined.num_rows, output_path=step.output_path)
