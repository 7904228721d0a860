"""What each pipeline step reports; stored as the execution's result JSON."""

from __future__ import annotations

from jobu.handlers import HandlerResult


class PreprocessResult(HandlerResult):
    output_path: str
    columns: list[str]
    rows_in: int
    rows_out: int
    rows_skipped: int = 0
    null_rows_dropped: int = 0
    duplicates_dropped: int = 0
    bytes_read: int
    bytes_written: int
    elapsed_seconds: float


class ValidateResult(HandlerResult):
    model: str
    valid_output_path: str
    rejected_output_path: str
    rows_in: int
    rows_valid: int
    rows_rejected: int
    bytes_read: int
    bytes_written: int
    elapsed_seconds: float


class LoadResult(HandlerResult):
    table: str
    backend: str
    method: str
    rows_loaded: int
    rows_deleted: int = 0
    bytes_read: int
    elapsed_seconds: float
