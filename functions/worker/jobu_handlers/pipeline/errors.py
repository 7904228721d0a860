"""Why a pipeline step failed. The message is what an operator reads in job_executions.error_message."""

from __future__ import annotations

from jobu.errors import JobuError, NonRetryableError


class PipelineError(JobuError):
    """A pipeline step refused its input or could not finish; nothing was published or loaded."""


class InvalidParamsError(PipelineError, NonRetryableError):
    """The step's params do not validate against its params model."""


class InputNotFoundError(PipelineError):
    """The input file or S3 object does not exist."""


class EmptyInputError(PipelineError):
    """The input has no bytes, or no data rows where rows were required."""


class MalformedInputError(PipelineError):
    """The input cannot be parsed: CSV rows with the wrong number of fields, a corrupt Parquet file."""


class ColumnError(PipelineError):
    """A column the params name is missing, or its values do not have the declared type."""


class RejectedRowsError(PipelineError):
    """More rows failed validation than the step allows."""


class TargetTableError(PipelineError):
    """The target table does not exist, lacks a column, or cannot take an all-or-nothing load."""


class LoadError(PipelineError):
    """The database refused the rows; the transaction was rolled back."""


class StepCancelledError(PipelineError):
    """The run was cancelled (its timeout expired) while its work was still running in a thread."""
