"""What the host needs to run one function (read from template.yaml), and what an invoke returns."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobu_local.errors import JobuToolError


@dataclass(frozen=True)
class FunctionDefinition:
    """What the runtime needs to run one function, read from template.yaml."""

    logical_id: str
    name: str
    handler: str
    code_dir: Path
    layer_dirs: tuple[Path, ...]
    timeout_seconds: int
    memory_mb: int
    environment: dict[str, str]
    region: str
    account_id: str = "123456789012"
    runtime: str = "python3.12"
    log_format: str = "Text"  # LoggingConfig.LogFormat: Text or JSON
    system_log_level: str = "INFO"  # LoggingConfig.SystemLogLevel (JSON format only)
    application_log_level: str = "INFO"  # LoggingConfig.ApplicationLogLevel (JSON format only)
    reserved_concurrency: int | None = None  # ReservedConcurrentExecutions; None: the account's

    @property
    def json_logs(self) -> bool:
        return self.log_format.upper() == "JSON"

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.name}"

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.name}"


@dataclass(frozen=True)
class Invocation:
    """The outcome of one invoke, as the event source mapping sees it."""

    request_id: str
    ok: bool
    result: Any = None
    error: dict[str, Any] | None = None
    duration_ms: float = 0.0
    init_ms: float | None = None
    status: str = "success"
    log_stream: str = ""  # the execution environment's stream: one per container


class FunctionError(JobuToolError):
    """The function raised, timed out or its process died (the invocation failed)."""


def lambda_environment(config: FunctionDefinition, log_stream: str) -> dict[str, str]:
    """The reserved variables Lambda sets in every execution environment of a function."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": config.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(config.timeout_seconds),
        "AWS_LAMBDA_LOG_GROUP_NAME": config.log_group,
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime}",
        "AWS_REGION": config.region,
        "AWS_DEFAULT_REGION": config.region,
        "LAMBDA_TASK_ROOT": str(config.code_dir),
        "_HANDLER": config.handler,
        "TZ": ":UTC",
        "PYTHONUNBUFFERED": "1",
    }
