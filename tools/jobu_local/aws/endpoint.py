"""Where AWS API calls go: the embedded emulator (moto server), another endpoint, or AWS itself."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from jobu_local.aws.loopback import LOOPBACK
from jobu_local.aws.processes import Service, http_ok, tools_environment

# where moto server keeps its CloudWatch Logs across restarts (jobu_local.aws.cloudwatch.journal)
JOURNAL_VARIABLE = "JOBU_LOCAL_LOGS_JOURNAL"
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


@dataclass(frozen=True)
class AwsTarget:
    """Where AWS API calls go: an endpoint (moto, LocalStack) or real AWS (endpoint None)."""

    endpoint_url: str | None
    region: str
    emulator: str  # "moto", "localstack", "aws"

    def client(self, service: str) -> Any:
        credentials: dict[str, str] = {}
        if self.endpoint_url is not None and not os.environ.get("AWS_ACCESS_KEY_ID"):
            credentials = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
        # a session of its own: boto3's default session caches the credentials it found first
        return boto3.session.Session().client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            # a connection per concurrent SQS poller (botocore keeps 10 by default)
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, max_pool_connections=64),
            **credentials,
        )

    def function_environment(self) -> dict[str, str]:
        """What a function process needs to reach the same AWS (Lambda gives it the role's keys)."""
        environment = {
            name: os.environ[name]
            for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
            if name in os.environ
        }
        if self.endpoint_url is not None:
            environment = {**LOCAL_CREDENTIALS, **environment, "AWS_ENDPOINT_URL": self.endpoint_url}
        return environment


def moto_server(port: int, log_path: Path | None = None, logs_journal: Path | None = None) -> Service:
    """moto server on loopback; with `logs_journal`, its CloudWatch Logs kept in that file."""
    environment = tools_environment()
    if logs_journal is not None:
        environment[JOURNAL_VARIABLE] = str(logs_journal)
    else:
        environment.pop(JOURNAL_VARIABLE, None)
    return Service(
        name="moto server",
        command=[sys.executable, "-m", "jobu_local.aws.moto_server", "-H", LOOPBACK, "-p", str(port)],
        ready=lambda: http_ok(f"http://{LOOPBACK}:{port}/moto-api/"),
        log_path=log_path,
        environment=environment,
    )


def detect_emulator(endpoint: str) -> str:
    if http_ok(f"{endpoint}/moto-api/"):
        return "moto"
    if http_ok(f"{endpoint}/_localstack/health"):
        return "localstack"
    return "external"
