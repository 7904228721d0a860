"""The dashboard server (tools/jobu_local/dashboard): it serves its pages, refuses whatever is not its
own page without the session's token or with another Host or Origin, proxies the admin API, and on
AWS signs each proxied request with SigV4 so that API Gateway's check (recomputed here by a stand-in
API from the signed headers, the exact URL and body) accepts it. The signed request goes to the API
it was given, at a plain path under /api/ (never a host or path the request target chose), and a
redirect is not followed; a bad Content-Length is refused before a byte is read. Also the stack
outputs it reads and the Logs Insights link it gives."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.stub import Stubber

from jobu_local.aws.endpoint import AwsTarget
from jobu_local.aws.sigv4 import SigningError, SigV4Signer, region_of
from jobu_local.aws.stack import StackError, admin_api_url, function_log_groups, stack_outputs
from jobu_local.dashboard.run_logs import RunLogSource
from jobu_local.dashboard.server import TOKEN_HEADER, DashboardConfig, DashboardServer
from tests.support.http_recorder import Recorder

# the dashboard server and a stand-in API serve on loopback
pytestmark = pytest.mark.enable_socket

KEY, SECRET, SESSION_TOKEN = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token"


def signature_ok(method: str, path: str, headers: dict[str, str], body: bytes, host: str) -> bool:
    """API Gateway's check: the signature recomputed over the headers the request says it signed."""
    authorization = headers.get("authorization", "")
    fields = dict(part.strip().split("=", 1) for part in authorization.split(" ", 1)[1].split(","))
    signed = fields["SignedHeaders"].split(";")
    request = AWSRequest(
        method=method,
        url=f"http://{host}{path}",
        data=body,
        headers={name: headers[name] for name in signed if name in headers},
    )
    request.context["timestamp"] = headers["x-amz-date"]
    auth = SigV4Auth(Credentials(KEY, SECRET, SESSION_TOKEN), "execute-api", "eu-west-1")
    expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    scope = fields["Credential"].split("/", 1)[1]
    return expected == fields["Signature"] and scope.endswith("/eu-west-1/execute-api/aws4_request")


class StandInApi(BaseHTTPRequestHandler):
    """An admin API that answers what it received and whether its signature holds."""

    def do_GET(self) -> None:  # http.server's naming
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        headers = {name.lower(): value for name, value in self.headers.items()}
        answer = {
            "method": self.command,
            "path": self.path,
            "body": body.decode(),
            "signed": "authorization" in headers
            and signature_ok(self.command, self.path, headers, body, headers["host"]),
            "token_forwarded": TOKEN_HEADER.lower() in headers,
        }
        status = 404 if self.path.startswith("/api/missing") else 200
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # the base class's name
        return None


@pytest.fixture
def api_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandInApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def session() -> boto3.session.Session:
    return boto3.session.Session(
        aws_access_key_id=KEY, aws_secret_access_key=SECRET, aws_session_token=SESSION_TOKEN
    )


def serve(config: DashboardConfig) -> DashboardServer:
    server = DashboardServer(config, 0, token="the-token")
    server.start()
    return server


def request(
    server: DashboardServer,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    answer = (response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    connection.close()
    return answer


def test_proxied_requests_are_signed_as_api_gateway_checks(api_url: str) -> None:
    signer = SigV4Signer(region="eu-west-1", session=session())
    server = serve(DashboardConfig(api_url=api_url, signer=signer, label="prod"))
    try:
        token = {TOKEN_HEADER: "the-token"}
        status, _, body = request(
            server, "GET", "/api/jobs?status=FAILED&from_date=2026-11-01T00%3A00%3A00Z", headers=token
        )
        answer = json.loads(body)
        assert (status, answer["signed"], answer["token_forwarded"]) == (200, True, False)
        assert unquote(answer["path"]) == "/api/jobs?status=FAILED&from_date=2026-11-01T00:00:00Z"
        status, _, body = request(
            server,
            "POST",
            "/api/crons",
            body=b'{"name": "x"}',
            headers=token | {"Content-Type": "application/json"},
        )
        assert (status, json.loads(body)["signed"], json.loads(body)["body"]) == (200, True, '{"name": "x"}')
        status, _, body = request(server, "GET", "/api/missing", headers=token)
        assert status == 404  # the API's own answers come back as they are
        context = json.loads(request(server, "GET", "/dashboard/context", headers=token)[2])
        assert context == {"label": "prod", "on_aws": True, "logs": False}
    finally:
        server.stop()


def test_a_tampered_request_fails_the_check(api_url: str) -> None:
    signed = SigV4Signer(region="eu-west-1", session=session()).sign(
        "POST", f"{api_url}/api/crons", body=b"{}", headers={"content-type": "application/json"}
    )
    headers = {name.lower(): value for name, value in signed.items()}
    headers["host"] = api_url.removeprefix("http://")
    assert signature_ok("POST", "/api/crons", headers, b"{}", headers["host"])
    assert not signature_ok("POST", "/api/crons", headers, b'{"x": 1}', headers["host"])
    assert not signature_ok("POST", "/api/jobs", headers, b"{}", headers["host"])


def test_signing_without_credentials_says_how_to_get_some(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    signer = SigV4Signer(region="us-east-1", session=boto3.session.Session())
    with pytest.raises(SigningError, match="no AWS credentials"):
        signer.sign("GET", "https://abc.execute-api.us-east-1.amazonaws.com/api/crons")


def test_only_its_own_pages_without_the_token_and_only_on_its_own_host(api_url: str) -> None:
    server = serve(DashboardConfig(api_url=api_url))
    try:
        status, headers, body = request(server, "GET", "/")
        assert (status, headers["content-type"]) == (200, "text/html; charset=utf-8")
        assert b'<script type="module" src="/static/js/app.js">' in body
        assert "script-src 'self'" in headers["content-security-policy"]
        assert headers["referrer-policy"] == "no-referrer"
        status, headers, _ = request(server, "GET", "/static/js/app.js")
        assert (status, headers["content-type"]) == (200, "text/javascript; charset=utf-8")
        assert request(server, "GET", "/static/../server.py")[0] == 400  # not a plain path
        assert request(server, "GET", "/static/%2e%2e/server.py")[0] == 400
        assert request(server, "GET", "/static/nope.js")[0] == 404
        for path in ("/api/crons", "/openapi.json", "/dashboard/context", "/dashboard/runs/1/logs"):
            assert request(server, "GET", path)[0] == 401, path
            assert request(server, "GET", path, headers={TOKEN_HEADER: "guess"})[0] == 401, path
        assert request(server, "POST", "/api/crons/1/run")[0] == 401
        # DNS rebinding: a page of another site that resolves to 127.0.0.1 sends its own Host
        rebound = {"Host": f"evil.example:{server.port}", TOKEN_HEADER: "the-token"}
        assert request(server, "GET", "/api/crons", headers=rebound)[0] == 403
        assert request(server, "GET", "/", headers={"Host": "evil.example"})[0] == 403
        # a page of another origin, even one that had the token, is refused
        foreign = {TOKEN_HEADER: "the-token", "Origin": "http://127.0.0.1:1"}
        assert request(server, "GET", "/api/crons", headers=foreign)[0] == 403
        own = {TOKEN_HEADER: "the-token", "Origin": f"http://127.0.0.1:{server.port}"}
        assert request(server, "GET", "/dashboard/context", headers=own)[0] == 200
        assert request(server, "GET", "/dashboard/runs/1/logs", headers={TOKEN_HEADER: "the-token"})[0] == 404
    finally:
        server.stop()
    assert server.url == f"http://127.0.0.1:{server.port}/?token=the-token"


def test_an_unreachable_admin_api_is_a_502_that_says_so() -> None:
    server = serve(DashboardConfig(api_url="http://127.0.0.1:1"))
    try:
        status, _, body = request(server, "GET", "/api/crons", headers={TOKEN_HEADER: "the-token"})
        assert (status, json.loads(body)["error"]) == (502, "admin_api_unreachable")
    finally:
        server.stop()


def test_stack_outputs_give_the_api_and_the_log_groups() -> None:
    cloudformation = boto3.client("cloudformation", region_name="eu-west-1")
    outputs = [
        {"OutputKey": "AdminApiUrl", "OutputValue": "https://abc123.execute-api.eu-west-1.amazonaws.com/"},
        {"OutputKey": "WorkerLogGroupName", "OutputValue": "/aws/lambda/jobu-WorkerFunction-X"},
        {"OutputKey": "CronDispatcherLogGroupName", "OutputValue": "/aws/lambda/jobu-Cron-Y"},
        {"OutputKey": "WorkQueueUrl", "OutputValue": "https://sqs/queue"},
    ]
    stack = {"StackName": "jobu", "CreationTime": datetime.now(UTC), "StackStatus": "CREATE_COMPLETE"}
    with Stubber(cloudformation) as stubber:
        stubber.add_response(
            "describe_stacks", {"Stacks": [stack | {"Outputs": outputs}]}, {"StackName": "jobu"}
        )
        stubber.add_client_error("describe_stacks", "ValidationError", "Stack with id nope does not exist")
        found = stack_outputs(cloudformation, "jobu")
        with pytest.raises(StackError, match="cannot read stack 'nope'"):
            stack_outputs(cloudformation, "nope")
    url = admin_api_url(found, "jobu")
    assert region_of(url) == "eu-west-1"
    assert function_log_groups(found) == {
        "/aws/lambda/jobu-Cron-Y": "CronDispatcher",
        "/aws/lambda/jobu-WorkerFunction-X": "Worker",
    }
    with pytest.raises(StackError, match="stack 'other' has no AdminApiUrl output: is it a jobu stack"):
        admin_api_url({}, "other")


def test_logs_insights_link_for_one_run_on_aws_only() -> None:
    groups = {"/aws/lambda/jobu-Worker": "Worker"}
    start, end = datetime(2026, 11, 1, 12, 0, tzinfo=UTC), datetime(2026, 11, 1, 12, 5, tzinfo=UTC)
    link = RunLogSource(AwsTarget(None, "eu-west-1", "aws"), groups).insights_url(42, start, end)
    assert link is not None
    assert link.startswith("https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1")
    assert "#logsV2:logs-insights$3FqueryDetail$3D~(end~'2026-11-01T12*3a05*3a00*2b00*3a00" in link
    assert "filter*20execution_id*20*3d*2042" in link
    assert link.endswith("~source~(~'*2faws*2flambda*2fjobu-Worker))")
    local = RunLogSource(AwsTarget("http://127.0.0.1:5000", "us-east-1", "moto"), groups)
    assert local.insights_url(42, start, end) is None


# --- where the proxy sends a request, and what it never sends -------------------------------------


# (a target, how it is refused): none reaches the API, nor any other host
REFUSED_TARGETS = [
    # read as a scheme, it made the API's host api.examplex.attacker.example
    ("x.attacker.example:/api/crons", "bad_request"),
    ("http://x.attacker.example/api/crons", "bad_request"),  # absolute form
    ("//x.attacker.example/api/crons", "not_found"),  # http.server reads it as /x.attacker.example/...
    ("/api/../dashboard/context", "bad_request"),
    ("/api/./crons", "bad_request"),
    ("/api/crons/%2e%2e/%2e%2e/other", "bad_request"),
    ("/api/crons%2f..%2f..%2fother", "bad_request"),
    ("/api/crons/1\\..\\..\\other", "bad_request"),
    ("/api/crons#fragment", "bad_request"),
]


@pytest.mark.parametrize(("target", "refusal"), REFUSED_TARGETS)
def test_the_proxy_signs_only_a_plain_path_under_api_for_the_api_it_was_given(
    through_proxy: Recorder, target: str, refusal: str
) -> None:
    signer = SigV4Signer(region="eu-west-1", session=session())
    server = serve(DashboardConfig(api_url="http://api.example", signer=signer, label="prod"))
    try:
        own = {TOKEN_HEADER: "the-token", "Host": f"127.0.0.1:{server.port}"}
        status, _, body = request(server, "GET", target, headers=own)
        assert (status // 100, json.loads(body)["error"]) == (4, refusal)
        assert through_proxy.seen == []  # nothing signed, nothing sent

        path = "/api/jobs?status=FAILED&name=a%2Fb"
        assert request(server, "GET", path, headers=own)[0] == 200
        ((method, url, headers),) = through_proxy.seen
        assert (method, url, headers["host"]) == ("GET", f"http://api.example{path}", "api.example")
        assert signature_ok("GET", path, headers, b"", "api.example")
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("length", "status"),
    [("-1", 400), ("abc", 400), ("1e3", 400), ("+5", 400), ("5, 7", 400), (str(2**40), 413)],
)
def test_a_bad_content_length_is_refused_before_a_byte_is_read(
    recorder: Recorder, length: str, status: int
) -> None:
    server = serve(DashboardConfig(api_url=recorder.url))
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
            connection.sendall(
                f"POST /api/crons HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n{TOKEN_HEADER}: the-token\r\n"
                f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n".encode()
            )
            # the client keeps its side open and sends no body: the answer comes anyway, and then
            # the server closes the connection (no thread is left reading a body)
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        assert answer.startswith(f"HTTP/1.1 {status} ".encode()), answer[:200]
        assert recorder.seen == []
    finally:
        server.stop()


def test_a_body_must_be_json(recorder: Recorder) -> None:
    server = serve(DashboardConfig(api_url=recorder.url))
    try:
        token = {TOKEN_HEADER: "the-token"}
        for headers in (token, token | {"Content-Type": "text/plain"}):
            status, _, _ = request(server, "POST", "/api/crons", body=b'{"name": "x"}', headers=headers)
            assert status == 415
        assert recorder.seen == []
        assert request(server, "POST", "/api/crons/1/run", headers=token)[0] == 200  # no body, no type needed
        json_body = token | {"Content-Type": "application/json; charset=utf-8"}
        assert request(server, "POST", "/api/crons", body=b"{}", headers=json_body)[0] == 200
    finally:
        server.stop()


def redirected(server: DashboardServer) -> None:
    """GET and POST through `server`: each a 502 that says the API redirected."""
    token = {TOKEN_HEADER: "the-token"}
    for method, body in (("GET", None), ("POST", b"{}")):
        headers = token | ({"Content-Type": "application/json"} if body else {})
        status, _, answer = request(server, method, "/api/crons", body=body, headers=headers)
        assert (status, json.loads(answer)["error"]) == (502, "admin_api_redirected")


@pytest.fixture
def elsewhere(recorder: Recorder) -> Recorder:
    """Where the admin API redirects requests: it must get none."""
    return recorder


@pytest.fixture
def redirecting(request: pytest.FixtureRequest, elsewhere: Recorder) -> Iterator[Recorder]:
    """An admin API that answers every request with a redirect (307, or the test's) to `elsewhere`."""
    status = getattr(request, "param", 307)
    started = Recorder(reply=lambda path: (status, {"Location": f"{elsewhere.url}{path}"}, b"")).start()
    yield started
    started.stop()


@pytest.mark.parametrize("redirecting", [301, 302, 303, 307, 308], indirect=True)
def test_a_redirect_is_not_followed_with_the_signature(redirecting: Recorder, elsewhere: Recorder) -> None:
    signer = SigV4Signer(region="eu-west-1", session=session())
    server = serve(DashboardConfig(api_url=redirecting.url, signer=signer))
    try:
        redirected(server)
    finally:
        server.stop()
    assert [seen[2]["x-amz-security-token"] for seen in redirecting.seen] == [SESSION_TOKEN] * 2
    assert all(seen[2]["authorization"].startswith("AWS4-HMAC-SHA256 ") for seen in redirecting.seen)
    assert elsewhere.seen == []  # no signature, session token or Host reached it


def test_a_redirect_is_not_followed_with_the_local_runtimes_token(
    redirecting: Recorder, elsewhere: Recorder
) -> None:
    server = serve(DashboardConfig(api_url=redirecting.url, api_token="the-runtime-token"))
    try:
        redirected(server)
    finally:
        server.stop()
    assert [seen[2]["authorization"] for seen in redirecting.seen] == ["Bearer the-runtime-token"] * 2
    assert elsewhere.seen == []
