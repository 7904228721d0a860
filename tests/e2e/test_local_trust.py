"""Who can act through `jobu local up`'s HTTP API (issue 19, finding 2): only a caller with the
runtime's token, addressing this machine by name, from no page of another origin, sending JSON.

A page of another origin opened in Chromium fires every request a page can send without asking
(simple cross-origin POSTs, a beacon, a form) and one that needs a preflight; a page whose name was
made to resolve to 127.0.0.1 (DNS rebinding) calls the API as its own origin. None of it creates,
runs or retries anything: the admin function is not even invoked. The CLI and the dashboard still
work, with no step from the user: they find the token themselves. The state folder and the state
file that hold the token are their owner's only, also when they were left readable by others.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import stat
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from jobu_local.commands.cli import main
from jobu_local.runtime.runtime import LocalRuntime
from tests.e2e.conftest import StartRuntime, list_runs, wait_for
from tests.e2e.dashboard_browser import chromium
from tests.e2e.test_dashboard import api, cron
from tests.support.http_recorder import Recorder

REBOUND = "rebound.example"  # a site of the attacker's whose name now resolves to 127.0.0.1

# Each request a page of another origin can send; `api` is the runtime's HTTP API, `spec` a cron job.
ATTACKS = """
async ({api, spec}) => {
  const body = JSON.stringify(spec);
  const outcome = async (what, request) => {
    try {
      const response = await request();
      return [what, response.type === "opaque" ? "sent" : response.status];
    } catch (error) {
      return [what, "blocked: " + error.message];
    }
  };
  const simple = {method: "POST", mode: "no-cors"};
  const text = {...simple, headers: {"Content-Type": "text/plain"}};
  const untyped = (content) => ({...simple, body: new Blob([content])});  // no Content-Type at all
  const results = [
    await outcome("create", () => fetch(api + "/api/crons", untyped(body))),
    await outcome("create as text", () => fetch(api + "/api/crons", {...text, body})),
    await outcome("run now", () => fetch(api + "/api/crons/1/run", simple)),
    await outcome("retry", () => fetch(api + "/api/jobs/1/retry", simple)),
    await outcome("bulk retry", () => fetch(api + "/api/jobs/bulk-retry", untyped('{"dry_run": false}'))),
    await outcome("create as JSON", () => fetch(api + "/api/crons", {
      method: "POST", headers: {"Content-Type": "application/json", "Authorization": "Bearer guess"}, body})),
  ];
  results.push(["beacon", navigator.sendBeacon(api + "/api/crons", new Blob([body], {type: "text/plain"}))]);
  return results;
}
"""
# A form that posts a cron job as text/plain, the oldest cross-site request there is.
FORM = """<!doctype html><title>prize</title>
<form method="post" enctype="text/plain" action="{action}">
<input type="hidden" value='"}}'
 name='{{"name": "by-form", "cron_expression": "* * * * *", "handler_name": "sample", "x": "'>
</form><script>document.forms[0].submit()</script>"""


def attacker_site(form_action: str) -> Recorder:
    """Another origin on this machine (http://localhost:PORT, where the API is 127.0.0.1:PORT2):
    an empty page to run the attacks from, and a page with the form."""
    pages = {
        "/": b"<!doctype html><title>attacker</title>",
        "/form": FORM.format(action=form_action).encode(),
    }
    html = {"Content-Type": "text/html"}
    return Recorder(reply=lambda path: (200 if path in pages else 404, html, pages.get(path, b""))).start()


async def snapshot(runtime: LocalRuntime, database_url: str) -> tuple[Any, ...]:
    """What an attack could change: the cron jobs, the runs, how often the admin function ran."""
    invoked = len([entry for entry in runtime.invocations if entry[0] == "AdminApiFunction"])
    crons = (await api(runtime, "GET", "/api/crons"))["items"]  # an invocation, counted by the next one
    runs = [(run.id, run.status.value, run.retry_count) for run in await list_runs(database_url)]
    return [job["name"] for job in crons], runs, invoked


async def a_failed_run(runtime: LocalRuntime, database_url: str) -> None:
    """Cron job 1 (`reader`) and its run 1, FAILED: something to run now, retry and bulk-retry."""
    await api(runtime, "POST", "/api/crons", cron("reader", "sample2", {"id": 1}))
    await api(runtime, "POST", "/api/crons/1/run")

    async def failed() -> bool:
        return [run.status.value for run in await list_runs(database_url)] == ["FAILED"]

    await wait_for(failed, within=60, what="run 1 to fail")


async def test_a_page_of_another_origin_changes_nothing_and_the_cli_and_dashboard_still_work(
    start_runtime: StartRuntime,
    sqlite_url: str,
    state_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    runtime = await start_runtime(sqlite_url)
    assert runtime.http_api is not None
    assert runtime.dashboard is not None
    api_url = runtime.http_api.url
    await a_failed_run(runtime, sqlite_url)
    before = await snapshot(runtime, sqlite_url)
    site = attacker_site(form_action=f"{api_url}/api/crons")
    origin = site.url.replace("127.0.0.1", "localhost")
    try:
        async with chromium(f"--host-resolver-rules=MAP {REBOUND} 127.0.0.1") as browser:
            page = browser.page
            await page.goto(origin)
            spec = {"name": "by-page", "cron_expression": "* * * * *", "handler_name": "sample"}
            results = dict(await page.evaluate(ATTACKS, {"api": api_url, "spec": spec}))
            assert results["create as JSON"].startswith("blocked: ")  # its preflight is refused
            async with page.expect_navigation(url=f"{api_url}/api/crons"):  # the form, submitted
                await page.goto(f"{origin}/form")

            # DNS rebinding: the attacker's name now resolves to 127.0.0.1, so a page of that name
            # (a document of the API's own, here) calls the API as its own origin, and reads the
            # answers; only the Host it sends (and no token) gives it away
            await page.goto(f"http://{REBOUND}:{runtime.http_api.port}/health")
            statuses = dict(await page.evaluate(ATTACKS.replace('mode: "no-cors"', 'mode: "same-origin"'),
                                                {"api": "", "spec": spec}))  # fmt: skip
            await asyncio.sleep(0.5)  # the beacons are sent after the page's script ends

            names, runs, invoked = await snapshot(runtime, sqlite_url)
            assert (names, runs, invoked) == (before[0], before[1], before[2] + 1)  # its own call only
            assert {what: statuses[what] for what in ("create", "run now", "retry", "bulk retry")} == {
                "create": 403,
                "run now": 403,
                "retry": 403,
                "bulk retry": 403,
            }  # refused for their Host

            # the user's own tools need no step: the CLI finds the token in the state file
            monkeypatch.setenv("JOBU_LOCAL_STATE_DIR", str(state_dir))
            capsys.readouterr()
            status = await asyncio.to_thread(
                main,
                [
                    "cron",
                    "add",
                    "--name",
                    "by-cli",
                    "--cron",
                    "0 3 * * *",
                    "--handler",
                    "sample",
                    "--api-url",
                    api_url,
                ],
            )
            assert status == 0, capsys.readouterr().err
            assert await asyncio.to_thread(main, ["runs", "retry", "1", "--api-url", api_url]) == 0
            # and so does the dashboard: it runs the CLI's job now through the runtime's API
            await page.goto(runtime.dashboard.url)
            await page.get_by_role("button", name="Run by-cli now").click()
            await expect(page.locator("#notice")).to_contain_text("queued")
    finally:
        site.stop()
    names, runs, _ = await snapshot(runtime, sqlite_url)
    assert sorted(names) == ["by-cli", "reader"]
    assert [(run_id, retries) for run_id, _, retries in runs] == [(1, 1), (2, 0)]


def left_open(state: Path) -> None:
    """A state folder and a stale state file left readable by every user."""
    state.mkdir(mode=0o755)
    state.chmod(0o755)
    (state / "runtime.json").write_text("{}")
    (state / "runtime.json").chmod(0o644)


def modes(state: Path) -> tuple[int, int]:
    """The state folder's permission bits and its state file's."""
    return stat.S_IMODE(state.stat().st_mode), stat.S_IMODE((state / "runtime.json").stat().st_mode)


def raw(port: int, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body or None, headers=headers)
        response = connection.getresponse()
        content = response.read()
        return response.status, json.loads(content) if content else None
    finally:
        connection.close()


async def test_the_state_folder_and_the_token_in_it_are_their_owners_only(
    start_runtime: StartRuntime, sqlite_url: str, state_dir: Path
) -> None:
    left_open(state_dir)

    runtime = await start_runtime(sqlite_url, functions=["admin-api"], dashboard_port=None)

    assert modes(state_dir) == (0o700, 0o600)
    assert json.loads((state_dir / "runtime.json").read_text())["token"] == runtime.token


async def test_the_http_api_asks_for_the_token_a_host_of_this_machine_no_foreign_origin_and_json(
    start_runtime: StartRuntime, sqlite_url: str
) -> None:
    runtime = await start_runtime(sqlite_url, functions=["admin-api"], dashboard_port=None)
    assert runtime.http_api is not None
    port = runtime.http_api.port

    def call(method: str, path: str, body: bytes = b"", **headers: str) -> int:
        given = {"Host": f"127.0.0.1:{port}", "Authorization": f"Bearer {runtime.token}"} | headers
        return raw(port, method, path, {k.replace("_", "-"): v for k, v in given.items() if v}, body)[0]

    async def status(method: str, path: str, body: bytes = b"", **headers: str) -> int:
        return await asyncio.to_thread(call, method, path, body, **headers)

    assert await status("GET", "/health", Authorization="") == 200  # the probes stay open
    assert await status("GET", "/ready", Authorization="") == 200
    for authorization in ("", "Bearer guess", f"Basic {runtime.token}", f"Bearer {runtime.token}x"):
        assert await status("GET", "/api/crons", Authorization=authorization) == 401
    assert await status("GET", "/openapi.json", Authorization="") == 401
    assert await status("GET", "/api/crons") == 200

    # the Host must name this machine: a page of another site resolved to 127.0.0.1 sends its own
    for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1.nip.io:{port}", "localhost.:3000"):
        assert await status("GET", "/api/crons", Host=host) == 403, host
    for host in (f"localhost:{port}", f"[::1]:{port}", f"127.0.0.2:{port}"):
        assert await status("GET", "/api/crons", Host=host) == 200, host

    # a page of another origin is refused, even with the token
    job = json.dumps(cron("forged", "sample", {})).encode()
    json_type = "application/json"
    for origin in (
        "http://evil.example",
        f"http://127.0.0.1:{port + 1}",
        "null",
        f"https://127.0.0.1:{port}",
    ):
        assert await status("POST", "/api/crons", job, Origin=origin, Content_Type=json_type) == 403, origin

    # a body must say it is JSON: without a Content-Type it is refused, not parsed
    for content_type in ("", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        assert await status("POST", "/api/crons", job, Content_Type=content_type) == 415, content_type
    assert await status("POST", "/api/crons", job, Content_Type=json_type) == 201

    # a bad length is refused at once, the connection closed, no thread left waiting for a body
    for length, expected in (("-1", 400), ("abc", 400), (str(2**40), 413)):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            connection.sendall(
                f"POST /api/crons HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Authorization: Bearer {runtime.token}\r\nContent-Type: {json_type}\r\n"
                f"Content-Length: {length}\r\n\r\n".encode()
            )
            answer = b""
            while chunk := await asyncio.to_thread(connection.recv, 65536):
                answer += chunk
        assert answer.startswith(f"HTTP/1.1 {expected} ".encode()), answer[:100]

    names = [job["name"] for job in (await api(runtime, "GET", "/api/crons"))["items"]]
    assert names == ["forged"]  # the one sent with the token, from no page, as JSON


async def test_the_control_port_asks_for_the_token_too(start_runtime: StartRuntime, sqlite_url: str) -> None:
    """`jobu tick` reaches the runtime through its control port, which any user of the machine can
    connect to: a request without the runtime's token does nothing."""
    runtime = await start_runtime(sqlite_url, functions=["cron-dispatcher"])

    def send(request: dict[str, Any]) -> dict[str, Any]:
        with socket.create_connection(("127.0.0.1", runtime._control_port), timeout=30) as connection:
            connection.sendall(json.dumps(request).encode() + b"\n")
            answer: dict[str, Any] = json.loads(connection.makefile("rb").readline())
            return answer

    for request in ({"command": "tick"}, {"command": "tick", "token": "guess"}, ["tick"]):
        answer = await asyncio.to_thread(send, request)  # type: ignore[arg-type]
        assert (answer["ok"], answer["error"][:12]) == (False, "unauthorized"), request
    assert runtime.invocations == []  # no tick
    assert (await asyncio.to_thread(send, {"command": "tick", "token": runtime.token}))["ok"] is True
    assert [function for function, _, _ in runtime.invocations] == ["CronDispatcherFunction"]
