"""How the `jobu` CLI and `jobu dashboard` authenticate to an admin API given by URL
(jobu_local.commands.api_access): the local runtime's own address gets its token and no signature;
https and http to this machine get SigV4 signatures with the user's AWS credentials; plain http to
another machine is refused unless --sign-over-http asks for it, and then it says so. "This machine"
is one definition for both (localhost, 127.0.0.0/8, ::1).

Every plain-http request of these tests goes through a recording proxy (`through_proxy`), so a
request to another machine is seen, and answered, without leaving this one."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from jobu_local.admin.transports import HttpTransport
from jobu_local.commands.admin_target import http_transport
from jobu_local.commands.cli import main, parser
from jobu_local.commands.common import CommandError
from jobu_local.commands.dashboard import config_from
from jobu_local.runtime.state import RuntimeState
from tests.support.http_recorder import Recorder

pytestmark = pytest.mark.enable_socket  # the recording proxy and the stand-in API serve on loopback
REGION = "eu-west-1"
ELSEWHERE = [
    "http://192.0.2.10:3000",
    "http://admin.example/",
    "http://127.0.0.1.nip.io:3000/",
    "http://localhost.example/",
]
THIS_MACHINE = [
    "http://127.0.0.1:9/",
    "http://127.0.0.2:9/",
    "http://127.255.255.254:9/",
    "http://[::1]:9/",
    "http://localhost:9/",
]


@pytest.fixture
def credentials(no_aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDJOBUTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_REGION", REGION)


def dashboard_args(*argv: str) -> argparse.Namespace:
    return parser().parse_args(["dashboard", *argv])


@pytest.mark.usefixtures("credentials")
@pytest.mark.parametrize("url", ELSEWHERE)
def test_plain_http_to_another_machine_is_refused_by_the_cli_and_the_dashboard(
    url: str, through_proxy: Recorder, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["runs", "--api-url", url]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"jobu: {url} is plain http to another machine: requests signed with your AWS")
    assert error.rstrip().endswith("use https, or pass --sign-over-http to sign them anyway")
    assert len(error.splitlines()) == 1
    with pytest.raises(CommandError, match="is plain http to another machine"):
        config_from(dashboard_args("--api-url", url))
    assert through_proxy.seen == []  # nothing signed, nothing sent


@pytest.mark.usefixtures("credentials")
def test_sign_over_http_signs_and_says_so(
    through_proxy: Recorder, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "http://admin.example/"

    assert main(["runs", "--api-url", url, "--sign-over-http", "--json"]) == 0

    out, error = capsys.readouterr()
    assert out == "[]\n"
    assert error == (
        f"jobu: warning: signing requests to {url} with your AWS credentials over plain http "
        "(--sign-over-http): anyone on the way can read and replay them\n"
    )
    ((method, target, headers),) = through_proxy.seen
    assert (method, target.split("?")[0], headers["host"]) == (
        "GET",
        "http://admin.example/api/jobs",
        "admin.example",
    )
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDJOBUTEST/")
    config = config_from(dashboard_args("--api-url", url, "--sign-over-http"))
    assert config.signer is not None
    assert "over plain http" in capsys.readouterr().out


@pytest.mark.parametrize("url", THIS_MACHINE)
def test_this_machine_is_one_definition_for_the_cli_and_the_dashboard(
    url: str, no_aws_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # without credentials, both call a loopback API unsigned
    cli = http_transport(url, None, region_name=REGION, profile=None)
    dashboard = config_from(dashboard_args("--api-url", url, "--region", REGION))
    assert isinstance(cli, HttpTransport)
    assert (cli.signer, dashboard.signer) == (None, None)

    # with credentials, both sign (a loopback API may be a gateway that checks signatures)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDJOBUTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    cli = http_transport(url, None, region_name=REGION, profile=None)
    dashboard = config_from(dashboard_args("--api-url", url, "--region", REGION))
    assert isinstance(cli, HttpTransport)
    assert (cli.signer is not None, dashboard.signer is not None) == (True, True)
    assert (cli.token, dashboard.api_token) == (None, None)


@pytest.mark.usefixtures("credentials")
def test_the_local_runtimes_own_address_gets_its_token_and_no_signature(
    recorder: Recorder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    monkeypatch.setenv("JOBU_LOCAL_STATE_DIR", str(state))
    running = RuntimeState(
        pid=os.getpid(),
        control_port=0,
        template="template.yaml",
        region=REGION,
        aws_endpoint_url=None,
        aws_emulator="moto",
        kafka_bootstrap_servers="",
        database_url="sqlite:///nothing.db",
        http_api_url=recorder.url,
        token="the-runtime-token",
    )
    running.write(state)

    assert main(["runs", "--api-url", recorder.url, "--json"]) == 0
    ((_, _, headers),) = recorder.seen
    assert headers["authorization"] == "Bearer the-runtime-token"
    assert not any(name.startswith("x-amz-") for name in headers)  # the AWS credentials stay home
    config = config_from(dashboard_args("--api-url", recorder.url))
    assert (config.api_token, config.signer) == ("the-runtime-token", None)

    # any other address, even on this machine, is not the runtime's: no token
    port = recorder.url.rsplit(":", 1)[1]
    for other in (
        f"http://localhost:{port}",
        f"http://127.0.0.1:{int(port) + 1}",
        f"https://127.0.0.1:{port}",
    ):
        client = http_transport(other, None, region_name=REGION, profile=None)
        assert isinstance(client, HttpTransport)
        assert (client.token, client.signer is not None) == (None, True), other
    assert capsys.readouterr().err == ""
