"""Configuration: every problem names the variable; the RDS secret format becomes a URL."""

from __future__ import annotations

import json

import pytest

from jobu.config import FunctionConfig, url_from_rds_secret, worker_timeout_seconds
from jobu.errors import ConfigurationError


def test_missing_queue_url_is_named() -> None:
    with pytest.raises(ConfigurationError, match="JOBU_WORK_QUEUE_URL is not set"):
        FunctionConfig.from_environ({"JOBU_DATABASE_URL": "sqlite:///x.db", "JOBU_DATABASE_POOL_SIZE": "2"})


@pytest.mark.parametrize(("raw", "message"), [("", "is not set"), ("two", "whole number of connections")])
def test_pool_size_is_required_and_checked(raw: str, message: str) -> None:
    environ = {
        "JOBU_DATABASE_URL": "sqlite:///x.db",
        "JOBU_WORK_QUEUE_URL": "q",
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
        FunctionConfig.from_environ(
            {**environ, "JOBU_WORK_QUEUE_URL": "https://q", "JOBU_DATABASE_POOL_SIZE": "2"}
        )


def test_url_setting_resolves_without_aws() -> None:
    config = FunctionConfig.from_environ(
        {
            "JOBU_DATABASE_URL": "mysql://root@db/test",
            "JOBU_WORK_QUEUE_URL": "q",
            "JOBU_DATABASE_POOL_SIZE": "3",
        }
    )
    assert config.database.resolve() == "mysql://root@db/test"
    assert (config.work_queue_url, config.pool_size) == ("q", 3)


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


@pytest.mark.parametrize(("raw", "message"), [("", "is not set"), ("ten", "whole number"), ("0", "positive")])
def test_worker_timeout_is_checked(raw: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=f"JOBU_WORKER_TIMEOUT_SECONDS.*{message}|{message}"):
        worker_timeout_seconds({"JOBU_WORKER_TIMEOUT_SECONDS": raw})
    assert worker_timeout_seconds({"JOBU_WORKER_TIMEOUT_SECONDS": "900"}) == 900
