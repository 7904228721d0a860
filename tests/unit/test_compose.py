"""infra/docker-compose.yml against the project's own configuration.

No Docker engine here: the compose file is parsed and compared with what the tests, the local
runtime, the template and the config code expect (ports, credentials, databases, topic, schema,
LocalStack services), so it cannot drift from them unnoticed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from jobu.config import url_from_rds_secret
from jobu_local.commands.targets import DEFAULT_TOPIC
from jobu_local.template.cfn_yaml import load_template

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
COMPOSE: dict[str, Any] = yaml.safe_load((INFRA / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
TEMPLATE = load_template(ROOT / "template.yaml")


def published(service: str) -> dict[int, tuple[str, int]]:
    """container port -> (host address, host port)."""
    ports: dict[int, tuple[str, int]] = {}
    for mapping in SERVICES[service]["ports"]:
        address, host_port, container_port = str(mapping).split(":")
        ports[int(container_port)] = (address, int(host_port))
    return ports


def env(service: str) -> dict[str, str]:
    return {key: str(value) for key, value in SERVICES[service]["environment"].items()}


def conftest_default(variable: str) -> str:
    """The default tests/conftest.py uses when the variable is unset (what CI's servers answer on)."""
    source = (ROOT / "tests/conftest.py").read_text()
    match = re.search(rf'os\.environ\.get\("{variable}", "([^"]*)"\)', source)
    assert match, f"tests/conftest.py no longer reads {variable}"
    return match.group(1)


def command_option(command: list[str], option: str) -> str:
    return command[command.index(option) + 1]


def test_postgres_matches_the_test_servers() -> None:
    url = urlsplit(conftest_default("JOBU_TEST_POSTGRES_URL"))
    assert published("postgres") == {5432: ("127.0.0.1", url.port)}
    assert f"-p {url.port}" in (ROOT / "scripts/services.sh").read_text()
    # the tests connect as postgres without a password
    assert url.username == "postgres"
    assert url.password is None
    assert env("postgres")["POSTGRES_HOST_AUTH_METHOD"] == "trust"
    assert env("postgres")["POSTGRES_DB"] == "test"


def test_mysql_matches_the_test_servers() -> None:
    port = int(conftest_default("JOBU_TEST_MYSQL_PORT"))
    assert published("mysql") == {3306: (conftest_default("JOBU_TEST_MYSQL_HOST"), port)}
    assert f"-P{port}" in (ROOT / "scripts/services.sh").read_text()
    assert conftest_default("JOBU_TEST_MYSQL_USER") == "root"
    assert env("mysql")["MARIADB_ALLOW_EMPTY_ROOT_PASSWORD"] == "1"
    assert env("mysql")["MARIADB_DATABASE"] == "test"


@pytest.mark.parametrize(("service", "dialect"), [("postgres", "postgres"), ("mysql", "mysql")])
def test_schema_is_applied_at_start_in_migration_order(service: str, dialect: str) -> None:
    schema = "../layers/core/python/jobu/store/schema"
    assert f"{schema}/{dialect}:/docker-entrypoint-initdb.d:ro" in SERVICES[service]["volumes"]
    migrations = sorted((INFRA / schema / dialect).glob("*.sql"))
    assert migrations, f"no migrations in {schema}/{dialect}"
    numbers = [int(path.name.split("_", 1)[0]) for path in migrations]
    # the image runs them in file-name order: that must be the numbered order
    assert numbers == sorted(numbers)
    assert len({len(path.name.split("_", 1)[0]) for path in migrations}) == 1, "zero-pad migration numbers"


def test_kafka_runs_in_kraft_mode_without_zookeeper() -> None:
    assert not any("zookeeper" in name or "zookeeper" in SERVICES[name]["image"] for name in SERVICES)
    kafka = env("kafka")
    assert set(kafka["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert kafka["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{kafka['KAFKA_NODE_ID']}@kafka:")


def test_kafka_is_advertised_where_it_is_published() -> None:
    listeners = dict(item.split("://") for item in env("kafka")["KAFKA_ADVERTISED_LISTENERS"].split(","))
    host, port = listeners["EXTERNAL"].split(":")
    assert host == "localhost"
    assert published("kafka")[int(port)] == ("127.0.0.1", int(port))
    internal_host, _ = listeners["INTERNAL"].split(":")
    assert internal_host == "kafka"


def test_kafka_init_creates_the_projects_topic_with_enough_partitions() -> None:
    command = SERVICES["kafka-init"]["command"]
    topic = command_option(command, "--topic")
    assert topic == TEMPLATE["Parameters"]["KafkaTopic"]["Default"] == DEFAULT_TOPIC
    partitions_in_events = {
        int(key.rsplit("-", 1)[1])
        for path in (ROOT / "events").glob("queue_dispatcher_*.json")
        for key in json.loads(path.read_text())["records"]
    }
    assert int(command_option(command, "--partitions")) > max(partitions_in_events)
    bootstrap = command_option(command, "--bootstrap-server")
    assert bootstrap in env("kafka")["KAFKA_ADVERTISED_LISTENERS"]


def test_localstack_runs_every_service_the_stack_and_sam_deploy_need() -> None:
    wanted = {"cloudformation", "iam", "sts", "s3", "secretsmanager"}  # sam deploy + DatabaseSecretArn
    by_type = {
        "AWS::Serverless::Function": {"lambda"},
        "AWS::Serverless::LayerVersion": {"lambda"},
        "AWS::Lambda::EventSourceMapping": {"lambda"},
        "AWS::SQS::Queue": {"sqs"},
        "AWS::Logs::LogGroup": {"logs"},
        "AWS::CloudWatch::Alarm": {"cloudwatch"},
        "AWS::CloudWatch::Dashboard": {"cloudwatch"},
        "AWS::S3::Bucket": {"s3"},
        "AWS::S3::BucketPolicy": {"s3"},
        "AWS::IAM::Role": {"iam"},
        "AWS::IAM::Policy": {"iam"},
        "AWS::IAM::ManagedPolicy": {"iam"},
        "AWS::Serverless::HttpApi": {"apigateway"},
    }
    for resource in TEMPLATE["Resources"].values():
        wanted |= by_type[resource["Type"]]
        for event in resource.get("Properties", {}).get("Events", {}).values():
            wanted |= {"ScheduleV2": {"scheduler"}, "SQS": {"sqs"}, "HttpApi": {"apigateway"}}[event["Type"]]
    assert wanted <= set(env("localstack")["SERVICES"].split(","))
    assert published("localstack") == {4566: ("127.0.0.1", 4566)}


def test_localstack_database_secret_reaches_the_compose_postgres() -> None:
    script = (INFRA / "localstack/ready.d/10-jobu-database-secret.sh").read_text()
    secret = re.search(r"--secret-string '([^']+)'", script)
    assert secret
    url = urlsplit(url_from_rds_secret(secret.group(1)))
    assert (url.scheme, url.hostname, url.port) == ("postgresql", "postgres", 5432)
    assert url.path == f"/{env('postgres')['POSTGRES_DB']}"
    assert "./localstack/ready.d:/etc/localstack/init/ready.d:ro" in SERVICES["localstack"]["volumes"]
    # Lambda containers must join the network where "postgres" and "kafka" resolve
    assert env("localstack")["LAMBDA_DOCKER_NETWORK"] == COMPOSE["networks"]["default"]["name"]


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_images_are_pinned_and_ports_stay_on_loopback(service: str) -> None:
    image = SERVICES[service]["image"]
    name, _, tag = image.rpartition(":")
    assert name
    assert tag not in {"", "latest"}
    for address, _ in published(service).values() if "ports" in SERVICES[service] else []:
        assert address == "127.0.0.1"
