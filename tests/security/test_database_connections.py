"""Database connections as AWS users run them, through the cron dispatcher's entry point.

Servers of the tests' own (never the shared ones): a PostgreSQL (tests/support/private_postgres.py)
and a MariaDB (tests/private_mariadb.py), each with TLS from a certificate authority of its own
and non-TLS connections refused, and a user with a password per test. The secret lives in moto's
Secrets Manager, read by the function with Powertools as on AWS.

- the secret formats: RDS-managed ({username, password}, the endpoint from the environment),
  the full RDS format, and the environment's endpoint winning over the secret's;
- rotation: the password changed (and the secret updated) under a warm container, whose pooled
  connections are then cut: the next invocation reads the secret again and goes on;
- a wrong password: one line naming host, user and database, never the password;
- TLS: verified against the right CA; refused with another CA, without TLS, or without the
  bundle.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from functions.cron_dispatcher import app as cron_app
from jobu.errors import ConfigurationError, DatabaseAuthenticationError, StoreUnavailableError
from jobu.store import open_store
from tests.support.function_environment import function_environment
from tests.support.harness import FakeLambdaContext, reset_containers
from tests.support.private_mariadb import PrivateMariaDB
from tests.support.private_postgres import Certificates, PrivatePostgres

# a manual invoke: the tick is the clock (a fixed time would be refused as too old)
TICK: dict[str, Any] = {}


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[PrivatePostgres]:
    with PrivatePostgres(password=uuid.uuid4().hex, tls=True) as server:
        yield server


@pytest.fixture(scope="module")
def mariadb_server() -> Iterator[PrivateMariaDB]:
    with PrivateMariaDB(tls=True) as server:
        yield server


@pytest.fixture(scope="module")
def refusing_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A loop for connections the database refuses. A refused TLS session is shut down by its loop
    after the error is raised: asyncio.run would close the loop first and leave the socket to the
    garbage collector, an unclosed-transport warning in whichever test runs next. This loop lives
    as long as the module's servers and runs a moment more at the end."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.run_until_complete(asyncio.sleep(0.5))
    left = asyncio.all_tasks(loop)
    for task in left:
        task.cancel()
    if left:
        loop.run_until_complete(asyncio.wait(left))
    loop.close()


@dataclass
class Account:
    """A user with a password and a database of its own, on a private server with TLS."""

    engine: str
    port: int
    user: str
    password: str
    database: str
    ca_bundle: Path
    server: Any

    def url(self, password: str | None = None, ca_bundle: Path | None = None) -> str:
        scheme = "postgresql" if self.engine == "postgres" else "mysql"
        query = f"?sslmode=verify-full&sslrootcert={ca_bundle or self.ca_bundle}"
        return (
            f"{scheme}://{self.user}:{password or self.password}@127.0.0.1:{self.port}/{self.database}{query}"
        )

    def set_password(self, password: str) -> None:
        if self.engine == "postgres":
            self.server.psql(f"ALTER ROLE {self.user} PASSWORD '{password}'")
        else:
            self.server.sql(f"ALTER USER '{self.user}'@'%' IDENTIFIED BY '{password}'")
        self.password = password

    def cut_connections(self) -> int:
        """End the user's sessions from the server side, as a failover or idle timeout does."""
        if self.engine == "postgres":
            out = self.server.psql(
                f"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = '{self.user}'"
            )
            return int(out.strip())
        ids = self.server.sql(
            f"SELECT id FROM information_schema.processlist WHERE user = '{self.user}'"
        ).split()
        for session in ids:
            self.server.sql(f"KILL {session}")
        return len(ids)

    def tls_sessions(self) -> int:
        if self.engine == "postgres":
            out = self.server.psql(
                "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) "
                f"WHERE ssl AND usename = '{self.user}'"
            )
            return int(out.strip())
        # require_secure_transport: every session the server accepted is TLS
        return len(
            self.server.sql(
                f"SELECT id FROM information_schema.processlist WHERE user = '{self.user}'"
            ).split()
        )


@pytest.fixture(params=["postgres", "mysql"])
def account(request: pytest.FixtureRequest) -> Account:
    name, password = f"jobu_{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    if request.param == "postgres":
        server: Any = request.getfixturevalue("postgres_server")
        server.psql(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'")
        server.psql(f"CREATE DATABASE {name} OWNER {name}")
    else:
        server = request.getfixturevalue("mariadb_server")
        server.sql(f"CREATE DATABASE {name}")
        server.sql(f"CREATE USER '{name}'@'%' IDENTIFIED BY '{password}'")
        server.sql(f"GRANT ALL ON {name}.* TO '{name}'@'%'")
    assert server.certificates is not None
    account = Account(request.param, server.port, name, password, name, server.certificates.ca_cert, server)

    async def migrate() -> None:
        store = await open_store(account.url())
        await store.migrate()
        await store.close()

    asyncio.run(migrate())
    return account


@dataclass
class Deployment:
    """The function's environment as the template sets it, with the secret in Secrets Manager."""

    account: Account
    secret_arn: str
    monkeypatch: pytest.MonkeyPatch

    def put_secret(self, fields: dict[str, Any]) -> None:
        boto3.client("secretsmanager").put_secret_value(
            SecretId=self.secret_arn, SecretString=json.dumps(fields)
        )

    def managed_secret(self) -> dict[str, Any]:
        """What RDS keeps in a managed master-user secret: the credentials and nothing else."""
        return {"username": self.account.user, "password": self.account.password}

    def endpoint_from_environment(self) -> None:
        for name, value in {
            "JOBU_DATABASE_ENGINE": self.account.engine,
            "JOBU_DATABASE_HOST": "127.0.0.1",
            "JOBU_DATABASE_PORT": str(self.account.port),
            "JOBU_DATABASE_NAME": self.account.database,
        }.items():
            self.monkeypatch.setenv(name, value)

    def tick(self) -> dict[str, Any]:
        result: dict[str, Any] = cron_app.handler(TICK, FakeLambdaContext(function_name="cron"))
        return result


@pytest.fixture
def deployment(account: Account, aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployment]:
    secret_arn = boto3.client("secretsmanager").create_secret(Name=f"jobu/{account.user}", SecretString="{}")[
        "ARN"
    ]
    queue_url = boto3.client("sqs").create_queue(QueueName=f"work-{account.user}")["QueueUrl"]
    environment = function_environment(
        JOBU_DATABASE_SECRET_ARN=secret_arn,
        JOBU_DATABASE_URL="",
        JOBU_DATABASE_TLS="verify-full",
        JOBU_DATABASE_CA_BUNDLE=str(account.ca_bundle),
        JOBU_WORK_QUEUE_URL=queue_url,
        JOBU_WORK_QUEUE_URL_PIPELINE=queue_url,  # every pool's queue (the pipeline's runs: none here)
        JOBU_RUN_RETENTION_DAYS="0",
    )
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    for name in ("JOBU_DATABASE_ENGINE", "JOBU_DATABASE_HOST", "JOBU_DATABASE_PORT", "JOBU_DATABASE_NAME"):
        monkeypatch.delenv(name, raising=False)
    reset_containers()
    yield Deployment(account, secret_arn, monkeypatch)
    reset_containers()


def test_an_rds_managed_secret_with_the_endpoint_from_the_environment(deployment: Deployment) -> None:
    deployment.put_secret(deployment.managed_secret())
    deployment.endpoint_from_environment()

    assert deployment.tick()["dispatched"] == []
    assert deployment.account.tls_sessions() >= 1  # the pool's connection, over verified TLS
    store = cron_app.container.run(cron_app.container.store())
    assert getattr(store.connector, "max_connections", None) == 2  # JOBU_DATABASE_POOL_SIZE


def test_the_full_rds_secret_format_keeps_working(deployment: Deployment) -> None:
    account = deployment.account
    deployment.put_secret(
        {
            **deployment.managed_secret(),
            "engine": "mariadb" if account.engine == "mysql" else "postgres",
            "host": "127.0.0.1",
            "port": account.port,
            "dbname": account.database,
        }
    )

    assert deployment.tick()["dispatched"] == []


def test_the_environment_endpoint_wins_over_the_secret(deployment: Deployment) -> None:
    """An RDS Proxy endpoint given as DatabaseHost stands in for the instance the secret names."""
    deployment.put_secret(
        {**deployment.managed_secret(), "engine": deployment.account.engine, "host": "db.invalid", "port": 1}
    )
    deployment.endpoint_from_environment()

    assert deployment.tick()["dispatched"] == []


def test_a_rotated_password_is_picked_up_by_a_warm_container(
    deployment: Deployment, refusing_loop: asyncio.AbstractEventLoop
) -> None:
    deployment.put_secret(deployment.managed_secret())
    deployment.endpoint_from_environment()
    deployment.tick()  # warm: the pool is open, the secret cached (Powertools, five minutes)

    # what Secrets Manager rotation does: a new password on the database and in the secret
    old = deployment.account.password
    deployment.account.set_password(uuid.uuid4().hex)
    deployment.put_secret(deployment.managed_secret())
    # the pooled sessions end (an idle timeout, a proxy or a failover ends them on AWS) and the
    # container's loop sees them go, so the pool must open new ones: with the new password
    assert deployment.account.cut_connections() >= 1
    cron_app.container.run(asyncio.sleep(0.2))

    assert deployment.tick()["dispatched"] == []
    assert deployment.account.tls_sessions() >= 1
    with pytest.raises(DatabaseAuthenticationError):
        refusing_loop.run_until_complete(open_store(deployment.account.url(password=old)))


def test_a_wrong_password_is_one_line_naming_host_user_and_database(deployment: Deployment) -> None:
    wrong = f"wrong-{uuid.uuid4().hex}"
    deployment.put_secret({**deployment.managed_secret(), "password": wrong})
    deployment.endpoint_from_environment()

    with pytest.raises(DatabaseAuthenticationError) as failure:
        deployment.tick()

    message = str(failure.value)
    account = deployment.account
    assert (
        f"at 127.0.0.1:{account.port} refused user {account.user!r} for database {account.database!r}"
        in message
    )
    assert wrong not in message
    assert "\n" not in message
    assert failure.value.__cause__ is None
    assert failure.value.__suppress_context__


def test_another_certificate_authority_is_refused(
    account: Account, tmp_path: Path, refusing_loop: asyncio.AbstractEventLoop
) -> None:
    other = Certificates.create(tmp_path)
    with pytest.raises(StoreUnavailableError, match="CERTIFICATE_VERIFY_FAILED"):
        refusing_loop.run_until_complete(open_store(account.url(ca_bundle=other.ca_cert)))


def test_a_missing_ca_bundle_is_named(deployment: Deployment, tmp_path: Path) -> None:
    deployment.put_secret(deployment.managed_secret())
    deployment.endpoint_from_environment()
    missing = tmp_path / "rds-global-bundle.pem"
    deployment.monkeypatch.setenv("JOBU_DATABASE_CA_BUNDLE", str(missing))

    with pytest.raises(
        ConfigurationError, match=f"CA bundle {missing} cannot be read.*JOBU_DATABASE_CA_BUNDLE"
    ):
        deployment.tick()


def test_tls_disabled_is_refused_by_a_server_that_requires_it(
    account: Account, refusing_loop: asyncio.AbstractEventLoop
) -> None:
    """The server only takes TLS, so this shows `disable` reaches the driver as no TLS at all."""
    url = account.url().replace("sslmode=verify-full", "sslmode=disable")
    with pytest.raises(DatabaseAuthenticationError):
        refusing_loop.run_until_complete(open_store(url))
