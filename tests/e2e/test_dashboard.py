"""The dashboard in a real browser (Debian's Chromium, driven by Playwright) against the local runtime:
a cron job created through the form (an invalid expression shows the API's reason next to the field),
run now, seen reaching SUCCESS on the runs page, its detail with its log lines; a failed run retried
from its row; a rejected Kafka record replayed; the dead-letter queue redriven (on LocalStack: moto has
no message move tasks); a notification rule created on its page and its test received, signed. Every
page visited passes axe-core without serious or critical violations and logs no console error; each
test saves screenshots under test-artifacts/dashboard/.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.async_api import Page, expect

from jobu_local.commands.produce import send
from jobu_local.runtime.runtime import LocalRuntime
from tests.e2e.conftest import TOPIC, StartRuntime, list_runs, wait_for
from tests.e2e.dashboard_browser import chromium

SLOW = 30_000  # ms: a run goes through SQS and the worker; the runs page refreshes every 5 s


async def start(start_runtime: StartRuntime, database_url: str, **options: Any) -> LocalRuntime:
    runtime = await start_runtime(database_url, **options)
    assert runtime.dashboard is not None
    assert runtime.dashboard.base_url.startswith("http://127.0.0.1:")
    return runtime


async def api(runtime: LocalRuntime, method: str, path: str, body: Any = None) -> Any:
    """The admin API directly, for what a test needs in place (not what it checks); in a thread, as
    the runtime's HTTP API invokes the function on this test's event loop."""
    return await asyncio.to_thread(_call, runtime, method, path, body)


def _call(runtime: LocalRuntime, method: str, path: str, body: Any) -> Any:
    assert runtime.http_api is not None
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {runtime.token}"}
    request = urllib.request.Request(runtime.http_api.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raise AssertionError(f"{method} {path}: {error.code} {error.read()[:500]!r}") from None


def nav(page: Page, name: str) -> Any:
    return page.get_by_role("navigation", name="Pages").get_by_role("link", name=name)


def run_row(page: Page, run_id: int) -> Any:
    return page.locator(f'#run-table tr[data-run-id="{run_id}"]')


async def in_kolkata_one_at_a_time(page: Page) -> None:
    """The zone the expression is read in (the preview shows each time on that zone's clock), and
    a run that waits for the one before it."""
    await page.get_by_label("Time zone").fill("Asia/Kolkata")
    await page.get_by_label("Time zone").dispatch_event("change")
    await expect(page.locator("#cron-preview li").first).to_contain_text("+05:30 Asia/Kolkata")
    await page.get_by_label("While a run is active").select_option("queue_one")


async def paused_and_resumed(page: Page, row: Any) -> None:
    await expect(row).to_contain_text("Asia/Kolkata")
    switch = row.get_by_role("switch")
    await expect(switch).to_have_text("On")
    await row.get_by_role("button", name="Pause browser-job").click()
    await expect(row).to_contain_text("paused")
    # paused runs nothing: not a green "On"
    await expect(switch).to_have_text("Paused")
    await expect(switch).to_have_css("background-color", "rgb(255, 248, 197)")
    await row.get_by_role("button", name="Resume browser-job").click()
    await expect(row).not_to_contain_text("paused")
    await expect(switch).to_have_text("On")
    await expect(switch).to_have_css("background-color", "rgb(218, 251, 225)")
    await row.get_by_role("button", name="Edit browser-job").click()
    await expect(page.get_by_label("While a run is active")).to_have_value("queue_one")
    await page.get_by_role("button", name="Cancel").click()


async def window_set_then_removed(page: Page, row: Any, runtime: LocalRuntime) -> None:
    """A partial update leaves a null field as it is, so an emptied field must still remove the
    window: the form sends 0."""
    window = page.get_by_label("Catch-up window (seconds)")
    for typed, stored in (("3600", 3600), ("", None)):
        await row.get_by_role("button", name="Edit browser-job").click()
        await window.fill(typed)
        await page.get_by_role("button", name="Save").click()
        await expect(page.locator("#cron-form")).to_have_count(0)  # closed once the API answered
        (job,) = (await api(runtime, "GET", "/api/crons"))["items"]
        assert job["catchup_window_seconds"] == stored


async def test_a_cron_job_from_the_form_to_its_log_lines(
    sqlite_url: str, start_runtime: StartRuntime
) -> None:
    runtime = await start(start_runtime, sqlite_url)
    async with chromium() as browser:
        page = browser.page
        await page.goto(runtime.dashboard.url)  # type: ignore[union-attr]
        await expect(page.get_by_role("heading", name="Cron jobs")).to_be_visible()
        assert "token=" not in page.url  # kept for the tab, taken out of the address bar
        await browser.check_accessibility("cron jobs, none yet")

        await page.get_by_role("button", name="New cron job").click()
        await page.get_by_label("Name", exact=True).fill("browser-job")
        expression = page.get_by_label("Cron expression")
        await expression.fill("61 * * * *")
        problem = page.locator("#cron_expression-error")
        await expect(problem).to_contain_text("is not valid")  # the preview's answer, as typed
        await page.get_by_role("button", name="Create").click()
        await expect(problem).to_contain_text("cron expression '61 * * * *'")  # the create's answer
        await expect(expression).to_have_attribute("aria-invalid", "true")
        await expect(expression).to_be_focused()
        await browser.screenshot("cron-form-invalid-expression")
        await browser.check_accessibility("cron form with an error")

        await expression.fill("*/5 * * * *")
        await expect(page.locator("#cron-preview li")).to_have_count(5)
        await expect(problem).to_be_hidden()
        await in_kolkata_one_at_a_time(page)
        await page.get_by_label("Params (JSON object)").fill('{"name": "from the browser"}')
        await browser.screenshot("cron-form-preview")
        await page.get_by_role("button", name="Create").click()
        row = page.locator("#cron-list tbody tr", has_text="browser-job")
        await expect(row).to_contain_text("*/5 * * * *")
        await paused_and_resumed(page, row)
        await window_set_then_removed(page, row, runtime)
        await row.get_by_role("button", name="Run browser-job now").click()
        await expect(page.locator("#notice")).to_contain_text("queued")

        await nav(page, "Runs").click()
        await expect(run_row(page, 1).locator(".badge")).to_have_text("SUCCESS", timeout=SLOW)
        await expect(page.locator("#status-counts")).to_contain_text("SUCCESS 1")
        await browser.screenshot("runs-success")
        await browser.check_accessibility("runs")

        await run_row(page, 1).get_by_role("link", name="#1").click()
        await expect(page.get_by_role("heading", name="Run #1")).to_be_visible()
        await expect(page.locator("#log-lines")).to_contain_text("run succeeded", timeout=SLOW)
        params = page.get_by_role("table", name="Params and where each came from")
        await expect(params).to_contain_text("from the browser")
        await expect(params).to_contain_text("cron")
        await browser.screenshot("run-detail-with-log-lines")
        await browser.check_accessibility("run detail")

        await nav(page, "Cron jobs").click()
        strip = page.locator("#cron-list tbody tr", has_text="browser-job").get_by_role("img")
        await expect(strip).to_have_attribute("aria-label", "Last 1 runs: 1 SUCCESS")
        browser.assert_no_console_errors()


async def test_a_failed_run_is_retried_and_a_rejected_record_replayed(
    sqlite_url: str, start_runtime: StartRuntime
) -> None:
    runtime = await start(start_runtime, sqlite_url)
    await api(runtime, "POST", "/api/crons", cron("reader", "sample2", {"id": 1}))
    writer = await api(runtime, "POST", "/api/crons", cron("writer", "sample1", {"name": "item one"}))
    # a record naming the cron job that does not exist yet (the next id): rejected until it does
    next_id = writer["id"] + 1
    message = {"handler_name": "sample", "params": {"name": "late"}, "job_id": next_id}
    await send(runtime.bootstrap_servers, TOPIC, json.dumps(message).encode())

    async with chromium() as browser:
        page = browser.page
        await page.goto(runtime.dashboard.url)  # type: ignore[union-attr]
        await page.get_by_role("button", name="Run reader now").click()  # item 1 does not exist yet
        await nav(page, "Runs").click()
        failed = run_row(page, 1)
        await expect(failed.locator(".badge")).to_have_text("FAILED", timeout=SLOW)
        await expect(failed).to_contain_text("no such item")
        await browser.screenshot("runs-failed")

        await api(runtime, "POST", f"/api/crons/{writer['id']}/run")  # creates item 1
        await wait_for(lambda: _succeeded(sqlite_url, 1), within=30, what="the writer's run")
        await failed.get_by_role("button", name="Retry run 1").click()
        await expect(page.locator("#notice")).to_contain_text("Run 1 retried")
        await expect(failed.locator(".badge")).to_have_text("SUCCESS", timeout=SLOW)
        await expect(failed).to_contain_text("1/0")  # one retry beyond max_retry's budget
        await browser.screenshot("runs-failed-run-retried")
        await browser.check_accessibility("runs after a retry")

        await nav(page, "Rejected records").click()
        record = page.locator("#rejected-list tbody tr", has_text=f"no cron job with id {next_id}")
        await expect(record).to_be_visible(timeout=SLOW)
        await expect(record).to_contain_text('"late"')  # the raw value, as text (raw_encoding utf-8)
        await browser.screenshot("rejected-record")
        await browser.check_accessibility("rejected records")
        await record.get_by_role("button", name="Replay").click()
        await expect(page.locator("#notice")).to_contain_text("refused again")  # still no such job
        created = await api(runtime, "POST", "/api/crons", cron("late-job", "sample", {}))
        assert created["id"] == next_id
        await record.get_by_role("button", name="Replay").click()
        await expect(page.locator("#notice")).to_contain_text("it is run 3 now")
        await expect(page.locator("#rejected-list")).to_contain_text("No rejected records.")
        await browser.screenshot("rejected-record-replayed")
        await wait_for(lambda: _succeeded(sqlite_url, 3), within=30, what="the replayed record's run")
        browser.assert_no_console_errors()


async def test_runs_are_filtered_by_tag(sqlite_url: str, start_runtime: StartRuntime) -> None:
    runtime = await start(start_runtime, sqlite_url)
    tagged = await api(
        runtime, "POST", "/api/crons", {**cron("tenant-a", "sample", {}), "tags": ["tenant-a"]}
    )
    plain = await api(runtime, "POST", "/api/crons", cron("plain", "sample", {}))
    runs = [await api(runtime, "POST", f"/api/crons/{job['id']}/run") for job in (tagged, plain)]
    tagged_run, plain_run = (ran["run"]["id"] for ran in runs)

    async with chromium() as browser:
        page = browser.page
        await page.goto(runtime.dashboard.url)  # type: ignore[union-attr]
        await nav(page, "Runs").click()
        await expect(run_row(page, plain_run)).to_be_visible()
        await page.get_by_label("Tags").fill(" tenant-a ")
        await page.get_by_role("button", name="Apply").click()
        await expect(page).to_have_url(re.compile(r"#/runs\?tag=tenant-a$"))  # the tags, trimmed
        await expect(run_row(page, tagged_run)).to_be_visible()
        await expect(run_row(page, plain_run)).to_have_count(0)
        await expect(page.locator("#status-counts")).to_contain_text("All 1")
        await browser.screenshot("runs-by-tag")
        await browser.check_accessibility("runs filtered by tag")
        browser.assert_no_console_errors()


async def test_runs_are_filtered_by_params(sqlite_url: str, start_runtime: StartRuntime) -> None:
    runtime = await start(start_runtime, sqlite_url)
    made = [
        await api(
            runtime, "POST", "/api/runs", {"handler_name": "sample", "params": params, "delay_seconds": 3600}
        )
        for params in ({"customer": "acme", "order": 7}, {"customer": "globex", "order": 7})
    ]
    acme_run, globex_run = (answer["run"]["id"] for answer in made)

    async with chromium() as browser:
        page = browser.page
        await page.goto(runtime.dashboard.url)  # type: ignore[union-attr]
        await nav(page, "Runs").click()
        await expect(run_row(page, globex_run)).to_be_visible()
        params = page.get_by_label("Params (key=value a line)")
        await params.fill("customer=acme\norder=7")
        # both lines in sight (it was one line tall: the second hid), and it grows at will
        await expect(params).to_have_attribute("rows", "3")
        await expect(params).to_have_css("resize", "vertical")
        assert await params.evaluate("area => area.scrollHeight <= area.clientHeight")
        await page.get_by_role("button", name="Apply").click()
        await expect(page).to_have_url(re.compile(r"#/runs\?param\.customer=acme&param\.order=7$"))
        await expect(run_row(page, acme_run)).to_be_visible()
        await expect(run_row(page, globex_run)).to_have_count(0)
        await expect(page.locator("#status-counts")).to_contain_text("All 1")
        await expect(page.get_by_label("Params (key=value a line)")).to_have_value("customer=acme\norder=7")
        await browser.screenshot("runs-by-params")
        await browser.check_accessibility("runs filtered by params")

        # the run's page names who enqueued it: the local runtime's principal
        await run_row(page, acme_run).get_by_role("link", name=f"#{acme_run}").click()
        await expect(page.locator("#main")).to_contain_text(re.compile(r"Enqueued by\s*local:"))
        await page.go_back()
        await expect(run_row(page, globex_run)).to_have_count(0)

        # bulk cancel of what the filters match, after a confirmation with the dry run's count
        await page.get_by_role("button", name="Cancel unfinished runs matching these filters").click()
        dialog = page.get_by_role("dialog", name="Cancel 1 run?")
        await expect(dialog).to_contain_text("1 WAITING, PENDING or RUNNING run matches these filters")
        # two plain buttons: no "Cancel" (close) beside the cancel itself
        await expect(dialog.get_by_role("button")).to_have_text(["Keep it", "Cancel 1 run"])
        await expect(dialog.get_by_role("button", name="Cancel", exact=True)).to_have_count(0)
        await browser.screenshot("runs-bulk-cancel-confirmation")
        await dialog.get_by_role("button", name="Keep it").click()  # the way out leaves it alone
        await expect(dialog).to_be_hidden()
        await expect(run_row(page, acme_run).locator(".badge")).to_have_text("PENDING")
        await page.get_by_role("button", name="Cancel unfinished runs matching these filters").click()
        await dialog.get_by_role("button", name="Cancel 1 run").click()
        await expect(page.locator("#notice")).to_contain_text("1 run cancelled, 0 running asked to stop")
        await expect(run_row(page, acme_run).locator(".badge")).to_have_text("CANCELLED")
        await nav(page, "Runs").click()  # the filters cleared: the other run was left alone
        await expect(run_row(page, globex_run).locator(".badge")).to_have_text("PENDING")
        browser.assert_no_console_errors()


async def test_batches_show_their_progress_children_and_callback_and_cancel(
    sqlite_url: str, start_runtime: StartRuntime
) -> None:
    runtime = await start(start_runtime, sqlite_url)
    on_complete = {"handler_name": "sample", "params": {"name": "report"}}
    finished = await api(runtime, "POST", "/api/batches", {
        "runs": [{"handler_name": "sample", "params": {"name": f"child {n}"}} for n in range(5)],
        "on_complete": on_complete,
    })  # fmt: skip
    waiting = await api(runtime, "POST", "/api/batches", {
        "runs": [{"handler_name": "sample", "params": {"name": f"later {n}"}, "delay_seconds": 3600}
                 for n in range(3)],
        "on_complete": on_complete,
    })  # fmt: skip
    done_id, waiting_id = finished["batch"]["id"], waiting["batch"]["id"]

    async with chromium() as browser:
        page = browser.page
        await page.goto(runtime.dashboard.url)  # type: ignore[union-attr]
        await nav(page, "Batches").click()
        done_row = page.locator(f'#batch-list tr[data-batch-id="{done_id}"]')
        await expect(done_row.locator(".badge")).to_have_text("SUCCESS", timeout=SLOW)
        bar = done_row.get_by_role("progressbar", name=f"Batch {done_id}: 5 of 5 runs ended")
        await expect(bar).to_have_attribute("aria-valuenow", "5")
        await expect(done_row).to_contain_text("5 SUCCESS")
        await expect(done_row.get_by_role("link", name=re.compile(r"^run #\d+$"))).to_be_visible()
        waiting_row = page.locator(f'#batch-list tr[data-batch-id="{waiting_id}"]')
        await expect(waiting_row).to_contain_text("3 not ended")
        await expect(waiting_row.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "0")
        await browser.screenshot("batches")
        await browser.check_accessibility("batches")

        # one batch: its runs, listed by GET /api/jobs?batch_id=, and its callback run
        await done_row.get_by_role("link", name=f"#{done_id}").click()
        await expect(page.locator("#batch-runs tbody tr")).to_have_count(5)
        for run_id in finished["run_ids"]:
            await expect(page.locator(f'#batch-runs tr[data-run-id="{run_id}"] .badge')).to_have_text(
                "SUCCESS"
            )
        await expect(page.locator("#batch-counts")).to_have_text("5 SUCCESS")
        await browser.screenshot("batch-detail")
        await browser.check_accessibility("a batch")
        await page.locator("#batch-callback a").click()
        await expect(page.locator("#main h1")).to_contain_text("Run #")
        await expect(page.locator("#main")).to_contain_text('"batch"')  # its params carry the counts

        # cancel a running batch, after a confirmation
        await page.goto(runtime.dashboard.url + f"#/batches/{waiting_id}")  # type: ignore[union-attr]
        await page.get_by_role("button", name="Cancel the batch").click()
        dialog = page.get_by_role("dialog", name=f"Cancel batch {waiting_id}?")
        await expect(dialog).to_contain_text("up to 3")
        await expect(dialog.get_by_role("button")).to_have_text(["Keep the batch", "Cancel the batch"])
        await dialog.get_by_role("button", name="Cancel the batch").click()
        await expect(page.locator("#notice")).to_contain_text(f"Batch {waiting_id}: 3 runs cancelled")
        await expect(page.locator("#main h1 .badge")).to_have_text("CANCELLED")
        await expect(page.locator("#batch-runs tbody .badge")).to_have_text(["CANCELLED"] * 3)
        await expect(page.get_by_role("button", name="Cancel the batch")).to_have_count(0)
        await browser.screenshot("batch-cancelled")
        browser.assert_no_console_errors()


@pytest.mark.localstack
async def test_the_dead_letter_queue_is_redriven(
    sqlite_url: str, localstack_endpoint: str, start_runtime: StartRuntime
) -> None:
    # the admin API alone: no worker takes the run's message, so the test can fail its deliveries
    runtime = await start(
        start_runtime,
        sqlite_url,
        functions=["AdminApiFunction"],
        aws_endpoint_url=localstack_endpoint,
        stack_name=f"e2e-{uuid.uuid4().hex[:8]}",
    )
    job = await api(runtime, "POST", "/api/crons", cron("nightly", "sample", {"name": "x"}))
    started = await api(runtime, "POST", f"/api/crons/{job['id']}/run")
    assert started["queued"] is True
    assert runtime.aws is not None
    assert runtime.provider is not None
    sqs = runtime.aws.client("sqs")
    work_queue = runtime.provider.queue_urls["WorkQueue"]
    dead_letters = runtime.provider.queue_urls["WorkDeadLetterQueue"]
    await asyncio.to_thread(crash_deliveries, sqs, work_queue, dead_letters)

    async with chromium() as browser:
        page = browser.page
        await page.goto(runtime.dashboard.url)  # type: ignore[union-attr]
        await nav(page, "Queue health").click()
        await expect(page.locator("#dlq-visible")).to_have_text("1", timeout=SLOW)
        await expect(page.locator("#dead-letters")).to_contain_text(f"#{started['run']['id']}")
        # every pool, with its handlers and queues; the default pool's dead letters shown below
        await expect(page.locator("#pools tr[data-pool=pipeline]")).to_contain_text("pandas_preprocess")
        await expect(page.locator("#pools tr[data-pool=default]")).to_contain_text("Shown below")
        await browser.screenshot("queue-health-dead-letter")
        await browser.check_accessibility("queue health")
        await page.get_by_role("button", name="Redrive to the work queue").click()
        dialog = page.get_by_role("dialog", name="Redrive pool default's dead-letter queue?")
        await expect(dialog).to_contain_text("1 message goes back to pool default's work queue")
        await browser.screenshot("queue-health-redrive-confirmation")
        await dialog.get_by_role("button", name="Redrive").click()
        await expect(page.locator("#notice")).to_contain_text("Redrive started")
        await expect(page.locator("#dlq-visible")).to_have_text("0", timeout=SLOW)
        await expect(page.locator("#queue-health")).to_contain_text("COMPLETED: 1 moved", timeout=SLOW)
        await browser.screenshot("queue-health-redriven")
        browser.assert_no_console_errors()
    assert await asyncio.to_thread(depth, sqs, work_queue) == 1  # back where it came from


def crash_deliveries(sqs: Any, work_queue: str, dead_letters: str) -> None:
    """Receive the run's message and never delete it, as a worker that crashes does, until SQS moves
    it to the dead-letter queue (the template's WorkQueueMaxReceiveCount)."""
    deadline = time.monotonic() + 30
    while depth(sqs, dead_letters) < 1:
        assert time.monotonic() < deadline, "the message did not reach the dead-letter queue"
        sqs.receive_message(QueueUrl=work_queue, MaxNumberOfMessages=10, VisibilityTimeout=0)


def depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def cron(name: str, handler_name: str, params: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "cron_expression": "0 3 * * *",
        "handler_name": handler_name,
        "handler_params": params,
    }


async def _succeeded(database_url: str, count: int) -> bool:
    runs = await list_runs(database_url)
    return len([run for run in runs if run.status.value == "SUCCESS"]) >= count


async def test_a_notification_rule_from_the_page_and_its_test_received(
    sqlite_url: str, start_runtime: StartRuntime
) -> None:
    """The Notifications page: a rule for a webhook on this machine (the local runtime allows http to
    loopback), "Send a test" received with a signature that verifies with the rule's secret."""
    received: list[tuple[str, bytes]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(
                (self.headers["X-Jobu-Signature"], self.rfile.read(int(self.headers["Content-Length"])))
            )
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    secret = "browser-secret-0123456789"
    runtime = await start(start_runtime, sqlite_url)
    try:
        async with chromium() as browser:
            page = browser.page
            await page.goto(runtime.dashboard.url)  # type: ignore[union-attr]
            await nav(page, "Notifications").click()
            await expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
            await page.get_by_role("button", name="New rule").click()
            await page.get_by_label("Handler").fill("sample")
            await page.get_by_label("Webhook URL").fill("http://example.com/not-https")
            await page.get_by_label("Secret").fill(secret)
            await page.get_by_role("button", name="Create").click()
            await expect(page.locator("#rule-form-error")).to_contain_text("webhook_url must be https")
            await page.get_by_label("Webhook URL").fill(f"http://127.0.0.1:{server.server_address[1]}/hook")
            await page.get_by_role("button", name="Create").click()
            row = page.locator("#rules-list tbody tr", has_text="sample")
            await expect(row).to_contain_text("FAILED, TIMEOUT")
            await browser.check_accessibility("notifications")
            await row.get_by_role("button", name="Send a test through rule 1").click()
            await expect(row).to_contain_text("Delivered (answer 204)", timeout=SLOW)
            await expect(row).not_to_contain_text("[object")
            await browser.screenshot("notifications-test-sent")
            browser.assert_no_console_errors()
    finally:
        server.shutdown()
        server.server_close()

    ((header, body),) = received
    parts = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)
    assert json.loads(body)["event"] == "TEST"
