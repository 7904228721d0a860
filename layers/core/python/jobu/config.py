"""Each function's settings, read from the environment once per container and validated.

A missing or invalid variable is a ConfigurationError naming it; nothing falls back silently.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

from jobu import constants
from jobu.errors import ConfigurationError
from jobu.pools import DEFAULT_POOL, Pools, check_pool_name, pool_variable

# Variables every function reads; the database is configured by exactly one of the first two.
DATABASE_SETTINGS = frozenset({constants.DATABASE_URL, constants.DATABASE_SECRET_ARN})
# Read with the secret only (a URL says everything itself, TLS included).
SECRET_DATABASE_SETTINGS = frozenset(
    {
        constants.DATABASE_ENGINE,
        constants.DATABASE_HOST,
        constants.DATABASE_PORT,
        constants.DATABASE_NAME,
        constants.DATABASE_TLS,
        constants.DATABASE_CA_BUNDLE,
    }
)
POWERTOOLS_SETTINGS = frozenset(
    {
        constants.POWERTOOLS_SERVICE_NAME,
        constants.POWERTOOLS_METRICS_NAMESPACE,
        constants.POWERTOOLS_TRACE_DISABLED,
    }
)
# Read by the libraries themselves: Powertools', and pydantic's plugin switch.
LIBRARY_SETTINGS = POWERTOOLS_SETTINGS | {constants.PYDANTIC_DISABLE_PLUGINS}
# How long Powertools keeps the secret: warm containers and re-opened pools do not call AWS. A
# rotation is noticed sooner: an authentication failure reads the secret again at once.
SECRET_MAX_AGE_SECONDS = 300
_SCHEMES = {"postgres": "postgresql", "postgresql": "postgresql", "mysql": "mysql", "mariadb": "mysql"}
TLS_MODES = ("verify-full", "disable")


def required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set")
    return value


def _whole_number(environ: Mapping[str, str], name: str, unit: str) -> int:
    raw = required(environ, name)
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(
            f"environment variable {name} must be a whole number of {unit}, not {raw!r}"
        ) from None


def _positive_int(environ: Mapping[str, str], name: str, unit: str = "seconds") -> int:
    value = _whole_number(environ, name, unit)
    if value <= 0:
        raise ConfigurationError(f"environment variable {name} must be positive, not {value}")
    return value


def _non_negative_int(environ: Mapping[str, str], name: str, unit: str = "days") -> int:
    value = _whole_number(environ, name, unit)
    if value < 0:
        raise ConfigurationError(f"environment variable {name} must be 0 or more, not {value}")
    return value


@dataclass(frozen=True)
class DatabaseTls:
    """TLS to the database: "verify-full" checks the server's certificate against `ca_bundle`
    (a PEM file, e.g. Amazon RDS's global bundle) and its name against the host."""

    mode: str
    ca_bundle: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> DatabaseTls:
        mode = required(environ, constants.DATABASE_TLS)
        if mode not in TLS_MODES:
            raise ConfigurationError(
                f"environment variable {constants.DATABASE_TLS} must be one of {', '.join(TLS_MODES)}, "
                f"not {mode!r}"
            )
        if mode == "disable":
            return cls(mode)
        return cls(mode, required(environ, constants.DATABASE_CA_BUNDLE))

    def query(self) -> dict[str, str]:
        """The URL query that says the same (jobu.store.tls reads it for both drivers)."""
        if self.ca_bundle is None:
            return {"sslmode": self.mode}
        return {"sslmode": self.mode, "sslrootcert": self.ca_bundle}


@dataclass(frozen=True)
class DatabaseEndpoint:
    """Where the database is, from the environment: each field set wins over the secret's."""

    engine: str | None = None
    host: str | None = None
    port: str | None = None
    dbname: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> DatabaseEndpoint:
        def get(name: str) -> str | None:
            return environ.get(name, "").strip() or None

        return cls(
            engine=get(constants.DATABASE_ENGINE),
            host=get(constants.DATABASE_HOST),
            port=get(constants.DATABASE_PORT),
            dbname=get(constants.DATABASE_NAME),
        )


@dataclass(frozen=True)
class DatabaseSetting:
    """Where a database is: a URL, or a Secrets Manager secret resolved at first use."""

    url: str | None
    secret_arn: str | None
    endpoint: DatabaseEndpoint = field(default_factory=DatabaseEndpoint)
    tls: DatabaseTls | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> DatabaseSetting:
        url = environ.get(constants.DATABASE_URL, "").strip() or None
        arn = environ.get(constants.DATABASE_SECRET_ARN, "").strip() or None
        if (url is None) == (arn is None):
            raise ConfigurationError(
                f"set exactly one of {constants.DATABASE_URL} (a database URL) or "
                f"{constants.DATABASE_SECRET_ARN} (a Secrets Manager secret)"
            )
        if url is not None:
            return cls(url=url, secret_arn=None)
        return cls(
            url=None,
            secret_arn=arn,
            endpoint=DatabaseEndpoint.from_environ(environ),
            tls=DatabaseTls.from_environ(environ),
        )

    @classmethod
    def for_reference(cls, reference: str, environ: Mapping[str, str] = os.environ) -> DatabaseSetting:
        """A database named by operators (JOBU_LOAD_DATABASES): a URL, or the ARN of a secret in
        the full RDS format, reached with the job store's TLS settings."""
        if not reference.startswith("arn:"):
            return cls(url=reference, secret_arn=None)
        return cls(url=None, secret_arn=reference, tls=DatabaseTls.from_environ(environ))

    def resolve(self, *, fresh: bool = False) -> str:
        """The URL; `fresh` reads the secret from AWS again (after an authentication failure)."""
        if self.url is not None:
            return self.url
        from aws_lambda_powertools.utilities.parameters import get_secret

        assert self.secret_arn is not None
        secret = get_secret(self.secret_arn, max_age=SECRET_MAX_AGE_SECONDS, force_fetch=fresh)
        return url_from_rds_secret(str(secret), endpoint=self.endpoint, tls=self.tls)


def _secret_fields(secret: str) -> dict[str, Any]:
    try:
        fields = json.loads(secret)
    except ValueError:
        fields = None
    if not isinstance(fields, dict) or not {"username", "password"} <= set(fields):
        # never quote the secret: it holds the password
        raise ConfigurationError(
            "the database secret must be JSON with username and password (RDS-managed), plus engine "
            "(postgres|mysql|mariadb), host, port and dbname unless the environment gives them"
        )
    return fields


def _pick(name: str, configured: str | None, fields: Mapping[str, Any], key: str) -> str:
    value = configured if configured is not None else fields.get(key)
    if value in (None, ""):
        raise ConfigurationError(f"the database {key} is neither in the secret nor in {name}")
    return str(value)


def url_from_rds_secret(
    secret: str, *, endpoint: DatabaseEndpoint | None = None, tls: DatabaseTls | None = None
) -> str:
    """A database URL from a Secrets Manager secret: RDS-managed ({username, password}, with
    engine, host, port and dbname from `endpoint`) or the full RDS format (endpoint fields,
    when set, win: an RDS Proxy endpoint can stand in for the instance)."""
    fields = _secret_fields(secret)
    where = endpoint or DatabaseEndpoint()
    engine = _pick(constants.DATABASE_ENGINE, where.engine, fields, "engine").lower()
    if engine not in _SCHEMES:
        raise ConfigurationError(f"the database engine must be postgres, mysql or mariadb, not {engine!r}")
    host = _pick(constants.DATABASE_HOST, where.host, fields, "host")
    # optional, as in RDS's own secrets: the driver's default port, the user's default database
    port = where.port or str(fields.get("port") or "")
    dbname = where.dbname or str(fields.get("dbname") or "")
    user = quote(str(fields["username"]), safe="")
    password = quote(str(fields["password"]), safe="")
    netloc = f"{user}:{password}@{host}" + (f":{port}" if port else "")
    query = f"?{urlencode(tls.query())}" if tls is not None else ""
    return f"{_SCHEMES[engine]}://{netloc}/{quote(dbname, safe='')}{query}"


@dataclass(frozen=True)
class FunctionConfig:
    """What every function needs: the job store (and its pool size), and every worker pool's
    queue (jobu.pools: any function may queue a run of any handler, and it goes to its pool's)."""

    database: DatabaseSetting
    pools: Pools
    pool_size: int

    ENVIRONMENT = (
        DATABASE_SETTINGS
        | SECRET_DATABASE_SETTINGS
        | {constants.WORK_QUEUE_URL, constants.DATABASE_POOL_SIZE}
    )
    REQUIRED_ENVIRONMENT = frozenset({constants.WORK_QUEUE_URL, constants.DATABASE_POOL_SIZE})

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> FunctionConfig:
        return cls(
            database=DatabaseSetting.from_environ(environ),
            pools=Pools.from_environ(environ),
            pool_size=_positive_int(environ, constants.DATABASE_POOL_SIZE, "connections"),
        )


@dataclass(frozen=True)
class RetryPolicy:
    """How long a failed run waits before its next attempt (jobu.retries): base x 2^n with jitter,
    at most max (the template sets 10 s and 900 s)."""

    base: timedelta
    max: timedelta

    ENVIRONMENT = frozenset({constants.RETRY_BACKOFF_SECONDS, constants.RETRY_BACKOFF_MAX_SECONDS})

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> RetryPolicy:
        base = _positive_int(environ, constants.RETRY_BACKOFF_SECONDS)
        longest = _positive_int(environ, constants.RETRY_BACKOFF_MAX_SECONDS)
        if longest < base:
            raise ConfigurationError(
                f"{constants.RETRY_BACKOFF_MAX_SECONDS}={longest} is less than "
                f"{constants.RETRY_BACKOFF_SECONDS}={base}"
            )
        return cls(base=timedelta(seconds=base), max=timedelta(seconds=longest))


def worker_pool(environ: Mapping[str, str] = os.environ) -> str:
    """The pool a worker function runs (JOBU_WORKER_POOL; unset: the default pool)."""
    name = environ.get(constants.WORKER_POOL, "").strip() or DEFAULT_POOL
    try:
        return check_pool_name(name)
    except ValueError as error:
        raise ConfigurationError(f"environment variable {constants.WORKER_POOL}: {error}") from None


@dataclass(frozen=True)
class WorkerConfig(FunctionConfig):
    """A worker runs the handlers of one pool; it keeps messages it can never parse in its pool's
    dead-letter queue, and retries failed runs after a backoff."""

    pool: str
    dead_letter_queue_url: str
    retry_policy: RetryPolicy

    ENVIRONMENT = (
        FunctionConfig.ENVIRONMENT
        | {constants.WORKER_POOL, constants.DEAD_LETTER_QUEUE_URL}
        | RetryPolicy.ENVIRONMENT
    )
    # the default pool's dead-letter queue; a worker of another pool needs its own instead
    REQUIRED_ENVIRONMENT = FunctionConfig.REQUIRED_ENVIRONMENT | RetryPolicy.ENVIRONMENT

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> WorkerConfig:
        base = FunctionConfig.from_environ(environ)
        pool = worker_pool(environ)
        return cls(
            **{field.name: getattr(base, field.name) for field in fields(FunctionConfig)},
            pool=pool,
            dead_letter_queue_url=required(environ, pool_variable(constants.DEAD_LETTER_QUEUE_URL, pool)),
            retry_policy=RetryPolicy.from_environ(environ),
        )


@dataclass(frozen=True)
class SweepPolicy:
    """When the sweeper sends a PENDING run's message again (the template sets 60 s and 15 min)."""

    grace: timedelta
    stuck_after: timedelta


@dataclass(frozen=True)
class CronConfig(FunctionConfig):
    """The cron dispatcher also runs the sweeper (which retries abandoned runs) and the retention."""

    sweep_policy: SweepPolicy
    retry_policy: RetryPolicy
    # finished runs older than this are deleted by the tick; None keeps them forever
    retention: timedelta | None
    # operator actions (the audit trail) older than this are deleted by the tick; None keeps them
    audit_retention: timedelta | None

    CRON = frozenset(
        {
            constants.REQUEUE_GRACE_SECONDS,
            constants.REQUEUE_STUCK_SECONDS,
            constants.RUN_RETENTION_DAYS,
            constants.AUDIT_RETENTION_DAYS,
        }
    )
    ENVIRONMENT = FunctionConfig.ENVIRONMENT | CRON | RetryPolicy.ENVIRONMENT
    REQUIRED_ENVIRONMENT = FunctionConfig.REQUIRED_ENVIRONMENT | CRON | RetryPolicy.ENVIRONMENT

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> CronConfig:
        base = FunctionConfig.from_environ(environ)
        days = _non_negative_int(environ, constants.RUN_RETENTION_DAYS)
        audit_days = _non_negative_int(environ, constants.AUDIT_RETENTION_DAYS)
        return cls(
            **{field.name: getattr(base, field.name) for field in fields(FunctionConfig)},
            sweep_policy=SweepPolicy(
                grace=timedelta(seconds=_positive_int(environ, constants.REQUEUE_GRACE_SECONDS)),
                stuck_after=timedelta(seconds=_positive_int(environ, constants.REQUEUE_STUCK_SECONDS)),
            ),
            retry_policy=RetryPolicy.from_environ(environ),
            retention=timedelta(days=days) if days else None,
            audit_retention=timedelta(days=audit_days) if audit_days else None,
        )


@dataclass(frozen=True)
class AdminConfig(FunctionConfig):
    """The admin function's settings: every function's, plus each pool's dead-letter queue (which
    it reads and redrives) and worker Timeout (which bounds the timeout_seconds of a cron job of
    that pool's handlers): `pools` holds them."""

    ADMIN = frozenset({constants.DEAD_LETTER_QUEUE_URL, constants.WORKER_TIMEOUT_SECONDS})
    ENVIRONMENT = FunctionConfig.ENVIRONMENT | ADMIN
    REQUIRED_ENVIRONMENT = FunctionConfig.REQUIRED_ENVIRONMENT | ADMIN

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> AdminConfig:
        base = FunctionConfig.from_environ(environ)
        return cls(
            database=base.database,
            pools=Pools.from_environ(environ, dead_letters=True, timeouts=True),
            pool_size=base.pool_size,
        )
