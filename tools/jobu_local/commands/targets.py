"""Which template, database, Kafka and AWS the commands talk to.

Each setting is taken from, first to last: the command's flag, the environment variable, the
state file of a running `jobu local up`, the embedded default. For AWS "no endpoint" means real AWS.
"""

from __future__ import annotations

import os
from pathlib import Path

from jobu_local.aws.endpoint import AwsTarget, detect_emulator
from jobu_local.errors import Refusal
from jobu_local.runtime.state import (
    RuntimeState,
    default_database_url,
    project_root,
    state_dir,
)
from jobu_local.template.reader import DEFAULT_REGION, LocalTemplate


def default_template() -> Path:
    return project_root() / "template.yaml"


DEFAULT_TOPIC = "jobu-events"


class TargetError(Refusal):
    """A command has nothing to talk to; the message says how to provide it."""


def running_state(directory: Path | None = None) -> RuntimeState | None:
    return RuntimeState.read(state_dir(directory))


def template_path(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    state = running_state()
    return Path(state.template) if state is not None else default_template()


def load_template(explicit: str | None) -> LocalTemplate:
    path = template_path(explicit)
    if not path.exists():
        raise TargetError(f"template not found: {path}")
    return LocalTemplate.load(path)


def database_url(explicit: str | None) -> str:
    if explicit:
        return explicit
    if os.environ.get("JOBU_DATABASE_URL"):
        return os.environ["JOBU_DATABASE_URL"]
    state = running_state()
    return state.database_url if state is not None else default_database_url(state_dir())


def bootstrap_servers(explicit: str | None) -> str:
    servers = explicit or os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if servers:
        return servers
    state = running_state()
    if state is None:
        raise TargetError(
            "no Kafka to send to: start `jobu local up`, "
            "set KAFKA_BOOTSTRAP_SERVERS or pass --bootstrap-servers"
        )
    return state.kafka_bootstrap_servers


def region() -> str:
    state = running_state()
    return (
        os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or (state.region if state else DEFAULT_REGION)
    )


def aws_target(explicit_endpoint: str | None) -> AwsTarget:
    endpoint = explicit_endpoint or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        return AwsTarget(endpoint, region(), detect_emulator(endpoint))
    state = running_state()
    if state is not None and state.aws_endpoint_url is not None:
        return AwsTarget(state.aws_endpoint_url, state.region, state.aws_emulator)
    return AwsTarget(None, region(), "aws")
