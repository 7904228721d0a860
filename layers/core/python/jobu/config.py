"""Each function's settings, read from the environment once per container and validated.

A missing or invalid variable is a ConfigurationError naming it; nothing falls back silently.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from jobu import constants
from jobu.errors import ConfigurationError

# Variables every function reads; the database is configured by exactly one of the two.
DATABASE_SETTINGS = frozenset({constants.DATABASE_URL, constants.DATABASE_SECRET_ARN})
POWERTOOLS_SETTINGS = frozenset({constants.POWERTOOLS_SERVICE_NAME, constants.POWERTOOLS_METRICS_NAMESPACE})


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set")
    return value


def _positive_int(environ: Mapping[str, str], name: str) -> int:
    raw = _required(environ, name)
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(
            f"environment variable {name} must be a whole number of seconds, not {raw!r}"
        ) from None
    if value <= 0:
        raise ConfigurationError(f"environment variable {name} must be positive, not {value}")
    return value


@dataclass(frozen=True)
class DatabaseSetting:
    """Where the job store is: a URL, or a Secrets Manager secret resolved at first use."""

    url: str | None
    secret_arn: str | None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> DatabaseSetting:
        url = environ.get(constants.DATABASE_URL, "").strip() or None
        arn = environ.get(constants.DATABASE_SECRET_ARN, "").strip() or None
        if (url is None) == (arn is None):
            raise ConfigurationError(
                f"set exactly one of {constants.DATABASE_URL} (a database URL) or "
                f"{constants.DATABASE_SECRET_ARN} (a Secrets Manager secret in the RDS format)"
            )
        return cls(url=url, secret_arn=arn)

    def resolve(self) -> str:
        if self.url is not None:
            return self.url
        from aws_lambda_powertools.utilities.parameters import get_secret

        assert self.secret_arn is not None
        # Powertools caches the secret, so warm invocations and re-opened pools do not call AWS
        return url_from_rds_secret(str(get_secret(self.secret_arn, max_age=300)))


def url_from_rds_secret(secret: str) -> str:
    """A database URL from a secret in the RDS format (engine, host, port, username, password, dbname)."""
    try:
        fields = json.loads(secret)
        engine = str(fields["engine"]).lower()
        scheme = {"postgres": "postgresql", "postgresql": "postgresql", "mysql": "mysql", "mariadb": "mysql"}[
            engine
        ]
        user = quote(str(fields["username"]), safe="")
        password = quote(str(fields["password"]), safe="")
        host, port, dbname = fields["host"], fields.get("port"), fields.get("dbname", "")
    except (ValueError, KeyError, TypeError) as error:
        raise ConfigurationError(
            "the database secret must be JSON with engine (postgres|mysql|mariadb), host, port, username, "
            f"password and dbname: {error!r}"
        ) from None
    netloc = f"{user}:{password}@{host}" + (f":{port}" if port else "")
    return f"{scheme}://{netloc}/{dbname}"


@dataclass(frozen=True)
class FunctionConfig:
    """What every function needs: the job store, and the work queue (dispatchers send to it; the
    worker re-queues retries and follow-up runs on it)."""

    database: DatabaseSetting
    work_queue_url: str

    ENVIRONMENT = DATABASE_SETTINGS | {constants.WORK_QUEUE_URL}
    REQUIRED_ENVIRONMENT = frozenset({constants.WORK_QUEUE_URL})

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> FunctionConfig:
        return cls(
            database=DatabaseSetting.from_environ(environ),
            work_queue_url=_required(environ, constants.WORK_QUEUE_URL),
        )


@dataclass(frozen=True)
class WorkerConfig(FunctionConfig):
    """The worker also keeps messages it can never parse in the work queue's dead-letter queue."""

    dead_letter_queue_url: str

    ENVIRONMENT = FunctionConfig.ENVIRONMENT | {constants.DEAD_LETTER_QUEUE_URL}
    REQUIRED_ENVIRONMENT = FunctionConfig.REQUIRED_ENVIRONMENT | {constants.DEAD_LETTER_QUEUE_URL}

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> WorkerConfig:
        base = FunctionConfig.from_environ(environ)
        return cls(
            database=base.database,
            work_queue_url=base.work_queue_url,
            dead_letter_queue_url=_required(environ, constants.DEAD_LETTER_QUEUE_URL),
        )


def worker_timeout_seconds(environ: Mapping[str, str] = os.environ) -> int:
    """The worker function's Timeout, for tools that create cron jobs (see cron_jobs.validate_spec)."""
    return _positive_int(environ, constants.WORKER_TIMEOUT_SECONDS)
