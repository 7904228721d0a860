"""Configuration: every problem names the variable; the RDS secret format becomes a URL."""

from __future__ import annotations

import json

import pytest

from jobu.config import AdminConfig, FunctionConfig, WorkerConfig, url_from_rds_secret
from jobu.errors import ConfigurationError, NotFoundError
from jobu.lambda_runtime import Container

# every pool the handler manifest names has a queue (jobu.pools)
QUEUES = {"JOBU_WORK_QUEUE_URL": "q", "JOBU_WORK_QUEUE_URL_PIPELINE": "qp"}


def test_missing_queue_url_is_named() -> None:
    with pytest.raises(ConfigurationError, match=r"JOBU_WORK_QUEUE_URL .*is not set"):
        FunctionConfig.from_environ(
            {
                "JOBU_DATABASE_URL": "sqlite:///x.db",
                "JOBU_DATABASE_POOL_SIZE": "2",
                "JOBU_WORK_QUEUE_URL_PIPELINE": "qp",
            }
        )


def test_a_function_refuses_to_start_without_the_queue_of_a_pool_a_handler_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    environ = {
        "JOBU_DATABASE_URL": "sqlite:///x.db",
        "JOBU_DATABASE_POOL_SIZE": "2",
        "JOBU_WORK_QUEUE_URL": "q",
    }
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    container = Container(FunctionConfig)
    try:
        with pytest.raises(
            ConfigurationError, match=r"pool\(s\) pipeline, .*set JOBU_WORK_QUEUE_URL_PIPELINE"
        ):
            container.config  # noqa: B018  (read at the first invocation)
        monkeypatch.setenv("JOBU_WORK_QUEUE_URL_PIPELINE", "qp")
        assert container.config.pools.queue_urls == {"default": "q", "pipeline": "qp"}
    finally:
        container.close()


def test_every_pools_queue_is_read_by_its_variable() -> None:
    environ = {
        "JOBU_DATABASE_URL": "sqlite:///x.db",
        "JOBU_DATABASE_POOL_SIZE": "2",
        **QUEUES,
        "JOBU_WORK_QUEUE_URL_REPORTS_2": "qr",
        "JOBU_WORK_QUEUE_URL_lower": "not a pool's",  # pools' variables are in capitals
        "JOBU_WORK_QUEUE_URL_EMPTY": " ",
    }
    pools = FunctionConfig.from_environ(environ).pools
    assert pools.queue_urls == {"default": "q", "pipeline": "qp", "reports_2": "qr"}
    with pytest.raises(NotFoundError, match="no pool named 'nope'; pools: default, pipeline, reports_2"):
        pools["nope"]


@pytest.mark.parametrize(("raw", "message"), [("", "is not set"), ("two", "whole number of connections")])
def test_pool_size_is_required_and_checked(raw: str, message: str) -> None:
    environ = {
        "JOBU_DATABASE_URL": "sqlite:///x.db",
        **QUEUES,
        "JOBU_DATABASE_POOL_SIZE": raw,
    }
    with pytest.raises(ConfigurationError, match=f"JOBU_DATABASE_POOL_SIZE.*{message}|{message}"):
        FunctionConfig.from_environ(environ)


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"JOBU_DATABASE_URL": "sqlite:///x.db", "JOBU_DATABASE_SECRET_ARN": "arn:aws:secretsmanager:x"},
        {"JOBU_DATABASE_URL": "  "},
    ],
)
def test_database_needs_exactly_one_setting(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError, match="set exactly one of JOBU_DATABASE_URL"):
        FunctionConfig.from_environ({**environ, **QUEUES, "JOBU_DATABASE_POOL_SIZE": "2"})


def test_url_setting_resolves_without_aws() -> None:
    config = FunctionConfig.from_environ(
        {
            "JOBU_DATABASE_URL": "mysql://root@db/test",
            **QUEUES,
            "JOBU_DATABASE_POOL_SIZE": "3",
        }
    )
    assert config.database.resolve() == "mysql://root@db/test"
    assert (config.pools.queue_urls["default"], config.pool_size) == ("q", 3)


def test_rds_secret_becomes_a_url_with_escaped_credentials() -> None:
    secret = {
        "engine": "postgres",
        "host": "db.example",
        "port": 5432,
        "username": "jobu",
        "password": "p@ss/w:rd",
    }
    assert url_from_rds_secret(json.dumps({**secret, "dbname": "jobs"})) == (
        "postgresql://jobu:p%40ss%2Fw%3Ard@db.example:5432/jobs"
    )
    assert url_from_rds_secret(json.dumps({**secret, "engine": "mariadb", "port": 3306})).startswith(
        "mysql://"
    )


@pytest.mark.parametrize("secret", ["not json", json.dumps({"engine": "oracle"}), json.dumps({"host": "x"})])
def test_bad_secret_says_what_it_needs(secret: str) -> None:
    with pytest.raises(ConfigurationError, match="username and password"):
        url_from_rds_secret(secret)


ADMIN = {
    "JOBU_DATABASE_URL": "sqlite:///x.db",
    "JOBU_DATABASE_POOL_SIZE": "2",
    **QUEUES,
    "JOBU_DEAD_LETTER_QUEUE_URL": "d",
    "JOBU_DEAD_LETTER_QUEUE_URL_PIPELINE": "dp",
    "JOBU_WORKER_TIMEOUT_SECONDS": "60",
    "JOBU_WORKER_TIMEOUT_SECONDS_PIPELINE": "900",
}


def test_the_admin_function_knows_each_pools_dead_letters_and_timeout() -> None:
    pools = AdminConfig.from_environ(ADMIN).pools
    assert [(p.name, p.dead_letter_queue_url, p.worker_timeout_seconds) for p in pools.values()] == [
        ("default", "d", 60),
        ("pipeline", "dp", 900),
    ]
    assert pools.worker_timeouts() == {"default": 60, "pipeline": 900}


@pytest.mark.parametrize(
    ("missing", "raw", "message"),
    [
        (
            "JOBU_DEAD_LETTER_QUEUE_URL_PIPELINE",
            "",
            r"JOBU_DEAD_LETTER_QUEUE_URL_PIPELINE \(pool 'pipeline'\) is not set",
        ),
        (
            "JOBU_WORKER_TIMEOUT_SECONDS_PIPELINE",
            "",
            r"JOBU_WORKER_TIMEOUT_SECONDS_PIPELINE \(pool 'pipeline'\) is not set",
        ),
        (
            "JOBU_WORKER_TIMEOUT_SECONDS",
            "ten",
            "JOBU_WORKER_TIMEOUT_SECONDS must be a whole number of seconds",
        ),
        ("JOBU_WORKER_TIMEOUT_SECONDS", "0", "JOBU_WORKER_TIMEOUT_SECONDS must be positive"),
    ],
)
def test_the_admin_function_names_a_pools_missing_setting(missing: str, raw: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        AdminConfig.from_environ({**ADMIN, missing: raw})


WORKER = {
    "JOBU_DATABASE_URL": "sqlite:///x.db",
    "JOBU_DATABASE_POOL_SIZE": "2",
    **QUEUES,
    "JOBU_RETRY_BACKOFF_SECONDS": "10",
    "JOBU_RETRY_BACKOFF_MAX_SECONDS": "900",
}


def test_a_worker_runs_its_pool_and_keeps_dead_letters_in_its_pools_queue() -> None:
    default = WorkerConfig.from_environ({**WORKER, "JOBU_DEAD_LETTER_QUEUE_URL": "d"})
    assert (default.pool, default.dead_letter_queue_url) == ("default", "d")
    pipeline = WorkerConfig.from_environ(
        {**WORKER, "JOBU_WORKER_POOL": "pipeline", "JOBU_DEAD_LETTER_QUEUE_URL_PIPELINE": "dp"}
    )
    assert (pipeline.pool, pipeline.dead_letter_queue_url) == ("pipeline", "dp")
    with pytest.raises(ConfigurationError, match="JOBU_DEAD_LETTER_QUEUE_URL_PIPELINE is not set"):
        WorkerConfig.from_environ(
            {**WORKER, "JOBU_WORKER_POOL": "pipeline", "JOBU_DEAD_LETTER_QUEUE_URL": "d"}
        )
    with pytest.raises(ConfigurationError, match="JOBU_WORKER_POOL: pool name 'Pipe-line' must be"):
        WorkerConfig.from_environ({**WORKER, "JOBU_WORKER_POOL": "Pipe-line"})
