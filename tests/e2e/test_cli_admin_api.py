"""The `jobu` CLI through the local runtime's admin API (`--api-url`), behind a proxy that plays API
Gateway's IAM authorization: it recomputes each request's SigV4 signature with the secret of the one
key it knows, answers 403 {"message": "Forbidden"} to a request without a valid one, and forwards
the others to the runtime's HTTP API. So every command below proves it signed what it sent."""

from __future__ import annotations

import asyncio
import hmac
import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from jobu_local.commands.cli import main
from jobu_local.commands.produce import send
from tests.e2e.conftest import TOPIC, StartRuntime, list_runs, wait_for

KEY = Credentials("AKIDJOBUE2ETEST", "e2e-secret-key")
REGION = "eu-west-1"
MAX_SKEW = timedelta(minutes=5)  # API Gateway refuses a request signed more than 5 minutes away
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<day>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)"
    r"/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})"
)


def sigv4_problem(method: str, url: str, headers: Any, body: bytes) -> str | None:
    """Why a request's signature is not a valid SigV4 signature of what arrived, by KEY, for
    execute-api in REGION; None when it is."""
    found = _AUTHORIZATION.fullmatch(headers.get("Authorization") or "")
    if found is None:
        return f"no SigV4 Authorization header: {headers.get('Authorization')!r}"
    if (found["key"], found["region"], found["service"]) != (KEY.access_key, REGION, "execute-api"):
        return f"signed for {found['key']}/{found['region']}/{found['service']}"
    moment = headers.get("X-Amz-Date") or ""
    signed = found["signed"].split(";")
    if not moment.startswith(found["day"]) or not {"host", "x-amz-date"} <= set(signed):
        return f"host and X-Amz-Date must be signed, the date in scope: {signed}, {moment!r}"
    skew = abs(datetime.strptime(moment, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC) - datetime.now(UTC))
    if skew > MAX_SKEW:
        return f"signed {skew} away from now"
    request = AWSRequest(method=method, url=url, data=body, headers={name: headers[name] for name in signed})
    request.context["timestamp"] = moment
    auth = SigV4Auth(KEY, "execute-api", REGION)
    expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    return None if hmac.compare_digest(expected, found["signature"]) else "the signature does not match"


@dataclass
class Seen:
    method: str
    path: str
    problem: str | None


@dataclass
class SigningGateway:
    upstream: str  # the runtime's HTTP API
    token: str  # what it asks for in place of a signature, as API Gateway's IAM check stands in front
    bootstrap_servers: str  # the runtime's Kafka
    seen: list[Seen] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> None:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                problem = sigv4_problem(
                    self.command, f"http://{self.headers['Host']}{self.path}", self.headers, body
                )
                gateway.seen.append(Seen(self.command, self.path, problem))
                if problem is not None:
                    self.reply(403, b'{"message":"Forbidden"}')
                    return
                forwarded = urllib.request.Request(
                    gateway.upstream + self.path,
                    data=body or None,
                    method=self.command,
                    headers={
                        "Content-Type": self.headers.get("Content-Type") or "application/json",
                        "Authorization": f"Bearer {gateway.token}",
                    },
                )
                try:
                    with urllib.request.urlopen(forwarded, timeout=30) as response:
                        self.reply(response.status, response.read())
                except urllib.error.HTTPError as error:
                    self.reply(error.code, error.read())

            def reply(self, status: int, content: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_DELETE = answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def credentials(no_aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """KEY as the user's only AWS credentials, REGION as their region."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", KEY.secret_key)
    monkeypatch.setenv("AWS_REGION", REGION)


@pytest.fixture
async def gateway(start_runtime: StartRuntime, sqlite_url: str) -> AsyncIterator[SigningGateway]:
    runtime = await start_runtime(sqlite_url)
    assert runtime.http_api is not None
    signing = SigningGateway(
        upstream=runtime.http_api.url, token=runtime.token, bootstrap_servers=runtime.bootstrap_servers
    )
    signing.start()
    yield signing
    signing.stop()


@dataclass
class Jobu:
    api_url: str
    capsys: pytest.CaptureFixture[str]

    async def __call__(self, *argv: str, api: bool = True) -> tuple[int, str, str]:
        self.capsys.readouterr()
        status = await asyncio.to_thread(main, [*argv, *(["--api-url", self.api_url] if api else [])])
        captured = self.capsys.readouterr()
        return status, captured.out, captured.err

    async def json(self, *argv: str) -> Any:
        status, out, err = await self(*argv, "--json")
        assert status == 0, err
        return json.loads(out)


@pytest.mark.usefixtures("credentials")
async def test_every_admin_command_reaches_the_local_api_signed(
    gateway: SigningGateway,
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("JOBU_LOCAL_STATE_DIR", str(tmp_path / "no-runtime"))  # the API is the only way in
    jobu = Jobu(gateway.url, capsys)

    assert await jobu("health") == (0, "healthy; ready: database ok (sqlite)\n", "")
    status, out, _ = await jobu("cron", "add", "--name", "e2e", "--cron", "0 3 * * *", "--handler", "sample",
                                "--params", '{"name": "base", "action": "read"}')  # fmt: skip
    assert status == 0
    assert "e2e   0 3 * * *  UTC   sample" in out
    assert await jobu("cron", "add", "--name", "e2e", "--cron", "0 4 * * *", "--handler", "sample") == (
        2,
        "",
        "jobu: duplicate: a cron job named 'e2e' exists already\n",
    )
    assert (await jobu.json("cron", "update", "e2e", "--description", "by the CLI"))[
        "description"
    ] == "by the CLI"

    ran = await jobu.json("cron", "run", "e2e", "--params", '{"name": "by hand"}')
    (run,) = await wait_for(lambda: _succeeded(sqlite_url), what="the run started by hand to succeed")
    assert (ran["run"]["id"], ran["queued"]) == (run.id, True)
    assert [r["id"] for r in await jobu.json("runs", "--status", "SUCCESS", "--from", "10m")] == [run.id]
    assert await jobu.json("runs", "--to", "2020-01-01") == []
    # both targets answer alike: the API's answer parses into the models the operations return
    assert await jobu.json("runs") == json.loads(
        (await jobu("runs", "--json", "--database-url", sqlite_url, api=False))[1]
    )
    status, out, _ = await jobu("runs", "show", str(run.id))
    assert "  name    by hand  manual" in out
    assert "  action  read     cron" in out
    assert (await jobu("runs", "retry", str(run.id)))[2] == (
        f"jobu: invalid_state: run {run.id} is SUCCESS: only FAILED or TIMEOUT runs are retried\n"
    )
    assert (await jobu.json("runs", "bulk-retry", "--dry-run"))["matched"] == 0
    assert (await jobu("runs", "cancel", str(run.id)))[2] == (
        f"jobu: invalid_state: run {run.id} is SUCCESS: only a run that has not ended can be cancelled\n"
    )

    # the scheduling routes: a body with a time, a query string, and the answers' models
    paused = await jobu.json("cron", "pause", "e2e", "--until", "2026-12-31T23:00:00+01:00")
    assert paused["paused_until"] == "2026-12-31T22:00:00Z"
    assert (await jobu.json("cron", "resume", "e2e"))["paused_at"] is None
    preview = await jobu.json("cron", "preview", "30 2 * * *", "--timezone", "Asia/Kolkata", "--count", "3")
    assert [local[11:] for local in preview["next_fire_times_local"]] == ["02:30:00+05:30"] * 3
    dry = await jobu.json("cron", "backfill", "e2e", "--start", "2026-11-01", "--end", "2026-11-03T12:00")
    assert (dry["dry_run"], dry["created"], len(dry["slots"])) == (True, 0, 3)

    await send(gateway.bootstrap_servers, TOPIC, b'{"handler_name": "nope"}')
    (record,) = await wait_for(lambda: jobu.json("runs", "rejected"), what="the record to be rejected")
    assert record["reason"].startswith("unknown handler 'nope'")
    status, out, _ = await jobu("runs", "rejected", "show", str(record["id"]))
    assert out.endswith('value:\n{"handler_name": "nope"}\n')
    status, out, _ = await jobu("runs", "rejected", "replay", str(record["id"]))
    assert status == 1
    assert out.startswith(f"rejected record {record['id']} was refused again: unknown handler 'nope'")
    assert (await jobu("runs", "rejected", "discard", str(record["id"])))[0] == 0

    assert await jobu.json("dlq") == {"visible": 0, "in_flight": 0, "delayed": 0}
    assert await jobu.json("dlq", "peek", "--max", "3") == []
    assert (await jobu.json("cron", "disable", "e2e"))["is_enabled"] is False
    assert await jobu("cron", "delete", "e2e") == (0, "deleted cron job 1 (e2e); its runs stay\n", "")

    assert gateway.seen, "no request reached the gateway"
    assert [(seen.method, seen.path) for seen in gateway.seen if seen.problem] == []
    assert {seen.method for seen in gateway.seen} == {"GET", "POST", "PUT", "DELETE"}


@pytest.mark.usefixtures("no_aws_credentials")
async def test_unsigned_and_wrongly_signed_requests_are_refused_on_one_line(
    gateway: SigningGateway, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    jobu = Jobu(gateway.url, capsys)

    # no credentials: a loopback API is called unsigned, and this one refuses that
    status, out, err = await jobu("runs")
    assert (status, out) == (2, "")
    assert err.startswith("jobu: forbidden: Forbidden: API Gateway refused the request")
    assert len(err.splitlines()) == 1
    assert gateway.seen[-1].problem is not None
    assert gateway.seen[-1].problem.startswith("no SigV4 Authorization header")

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    assert (await jobu("runs", "--region", REGION))[0] == 2
    assert gateway.seen[-1].problem == "the signature does not match"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", KEY.secret_key)
    assert (await jobu("runs", "--region", "us-east-2"))[0] == 2
    assert gateway.seen[-1].problem == f"signed for {KEY.access_key}/us-east-2/execute-api"
    assert await jobu("runs", "--json", "--region", REGION) == (0, "[]\n", "")


async def _succeeded(database_url: str) -> list[Any]:
    runs = await list_runs(database_url)
    return runs if runs and all(run.status.value == "SUCCESS" for run in runs) else []
