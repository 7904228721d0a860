"""Database settings: the secret formats, the endpoint from the environment, and TLS in the URL."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import pytest

from jobu.config import DatabaseEndpoint, DatabaseSetting, DatabaseTls, url_from_rds_secret
from jobu.errors import ConfigurationError
from jobu.store.mysql import connect_kwargs
from jobu.store.tls import connection
from tests.support.private_postgres import Certificates

MANAGED = json.dumps({"username": "jobu", "password": "s3cr#t/pw"})
ENDPOINT = DatabaseEndpoint(engine="postgres", host="proxy.example", port="5432", dbname="jobs")


def test_an_rds_managed_secret_takes_the_endpoint_from_the_environment() -> None:
    assert (
        url_from_rds_secret(MANAGED, endpoint=ENDPOINT)
        == "postgresql://jobu:s3cr%23t%2Fpw@proxy.example:5432/jobs"
    )


def test_the_environment_wins_over_the_secret_field_by_field() -> None:
    full = json.dumps(
        {"username": "u", "password": "p", "engine": "mysql", "host": "db", "port": 3306, "dbname": "a"}
    )
    assert url_from_rds_secret(full) == "mysql://u:p@db:3306/a"
    assert url_from_rds_secret(full, endpoint=DatabaseEndpoint(host="proxy")) == "mysql://u:p@proxy:3306/a"


@pytest.mark.parametrize(
    ("missing", "variable"), [("engine", "JOBU_DATABASE_ENGINE"), ("host", "JOBU_DATABASE_HOST")]
)
def test_a_field_in_neither_place_names_the_variable(missing: str, variable: str) -> None:
    endpoint = DatabaseEndpoint(**{"engine": "postgres", "host": "db", missing: None})  # type: ignore[arg-type]
    with pytest.raises(
        ConfigurationError, match=f"database {missing} is neither in the secret nor in {variable}"
    ):
        url_from_rds_secret(MANAGED, endpoint=endpoint)


def test_a_bad_secret_is_never_quoted() -> None:
    secret = '{"username": "jobu", "password": "hunter2-secret"'  # truncated JSON
    with pytest.raises(ConfigurationError) as refused:
        url_from_rds_secret(secret, endpoint=ENDPOINT)
    assert "hunter2" not in str(refused.value)


def test_tls_settings_go_into_the_url() -> None:
    url = url_from_rds_secret(MANAGED, endpoint=ENDPOINT, tls=DatabaseTls("verify-full", "/opt/ca.pem"))
    assert url.endswith("/jobs?sslmode=verify-full&sslrootcert=%2Fopt%2Fca.pem")


def test_with_a_secret_tls_must_be_configured() -> None:
    environ = {"JOBU_DATABASE_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x"}
    with pytest.raises(ConfigurationError, match="JOBU_DATABASE_TLS is not set"):
        DatabaseSetting.from_environ(environ)
    with pytest.raises(ConfigurationError, match="JOBU_DATABASE_TLS must be one of verify-full, disable"):
        DatabaseSetting.from_environ({**environ, "JOBU_DATABASE_TLS": "prefer"})
    with pytest.raises(ConfigurationError, match="JOBU_DATABASE_CA_BUNDLE is not set"):
        DatabaseSetting.from_environ({**environ, "JOBU_DATABASE_TLS": "verify-full"})
    setting = DatabaseSetting.from_environ(
        {**environ, "JOBU_DATABASE_TLS": "disable", "JOBU_DATABASE_HOST": "h"}
    )
    assert (setting.tls, setting.endpoint.host) == (DatabaseTls("disable"), "h")


def test_a_url_says_everything_itself() -> None:
    """Locally (sam local, jobu local) the URL replaces the secret; the template's TLS settings
    are then not read."""
    setting = DatabaseSetting.from_environ(
        {"JOBU_DATABASE_URL": "sqlite:///x.db", "JOBU_DATABASE_TLS": "bogus"}
    )
    assert (setting.url, setting.tls) == ("sqlite:///x.db", None)


def test_verify_full_checks_the_chain_and_the_host_name(tmp_path: Path) -> None:
    ca = Certificates.create(tmp_path).ca_cert
    target = connection(
        f"postgresql://u:p@db:5432/jobs?application_name=x&sslmode=verify-full&sslrootcert={ca}"
    )
    assert target.url == "postgresql://u:p@db:5432/jobs?application_name=x"
    assert isinstance(target.ssl, ssl.SSLContext)
    assert (target.ssl.check_hostname, target.ssl.verify_mode) == (True, ssl.CERT_REQUIRED)
    mysql = connect_kwargs(f"mysql://u:p@db:3306/jobs?sslmode=verify-full&sslrootcert={ca}")
    assert isinstance(mysql["ssl"], ssl.SSLContext)
    assert (mysql["host"], mysql["db"]) == ("db", "jobs")


def test_tls_modes_in_a_url() -> None:
    assert connection("postgresql://u@db/x").ssl is None  # the driver's default
    assert connection("postgresql://u@db/x?sslmode=disable").ssl is False
    assert "ssl" not in connect_kwargs("mysql://u@db/x?sslmode=disable")
    with pytest.raises(ConfigurationError, match="sslmode 'require' is not supported"):
        connection("postgresql://u@db/x?sslmode=require")
    with pytest.raises(ConfigurationError, match="needs sslrootcert"):
        connection("postgresql://u@db/x?sslmode=verify-full")
