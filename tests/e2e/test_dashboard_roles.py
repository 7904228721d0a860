"""The dashboard's Audit page and its read-only view, in a real browser (Debian's Chromium, driven by
Playwright) against the local runtime.

An operator's change made in the dashboard is on the Audit page with who made it (the runtime's
token: `local:<user>`), next to a change made through the API, stored text shown as text. A viewer
(the runtime's viewer token, the local stand-in for the template's viewer policy) sees every page
without one action button, because the API refuses its probe (POST /api/access/check), and the API
refuses its changes before the function runs.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import urllib.error
import urllib.request
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import expect

from jobu_local.dashboard.server import DashboardConfig, DashboardServer
from jobu_local.runtime.runtime import LocalRuntime
from tests.e2e.conftest import StartRuntime
from tests.e2e.dashboard_browser import chromium
from tests.e2e.test_dashboard import api, cron, nav, run_row, start

# would run as script or markup if the page put stored text anywhere but a text node
HOSTILE = "<img src=x onerror=\"document.title='owned'\"><script>document.title='owned'</script>"


async def _as(token: str, runtime: LocalRuntime, method: str, path: str) -> tuple[int, bytes]:
    """The status and body of one request with `token`; in a thread, as the runtime's HTTP API
    invokes the function on this test's event loop."""
    return await asyncio.to_thread(_answer, token, runtime, method, path)


def _answer(token: str, runtime: LocalRuntime, method: str, path: str) -> tuple[int, bytes]:
    assert runtime.http_api is not None
    request = urllib.request.Request(
        runtime.http_api.url + path, method=method, headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture
async def viewer_dashboard(
    start_runtime: StartRuntime, sqlite_url: str
) -> AsyncIterator[tuple[LocalRuntime, str]]:
    """The runtime, and a dashboard in front of its HTTP API with the runtime's viewer token."""
    runtime = await start(start_runtime, sqlite_url)
    assert runtime.http_api is not None
    server = DashboardServer(DashboardConfig(api_url=runtime.http_api.url, api_token=runtime.viewer_token), 0)
    server.start()
    try:
        yield runtime, server.url
    finally:
        server.stop()


async def test_a_change_in_the_dashboard_is_on_the_audit_page_with_its_principal(
    sqlite_url: str, start_runtime: StartRuntime
) -> None:
    runtime = await start(start_runtime, sqlite_url)
    job = await api(runtime, "POST", "/api/crons", {**cron("audited", "sample", {}), "description": HOSTILE})
    async with chromium() as browser:
        page = browser.page
        await page.goto(runtime.dashboard.url)  # type: ignore[union-attr]
        row = page.locator(f'#cron-list tr[data-cron-id="{job["id"]}"]')
        await row.get_by_role("switch").click()
        await expect(row.get_by_role("switch")).to_have_text("Off")

        await nav(page, "Audit").click()
        table = page.locator("#audit-table")
        await expect(table.locator("tbody tr")).to_have_count(2)
        newest, oldest = table.locator("tbody tr").nth(0), table.locator("tbody tr").nth(1)
        who = f"local:{getpass.getuser()}"
        await expect(newest).to_contain_text("cron_job.disable")
        await expect(newest).to_contain_text(who)
        await expect(newest).to_contain_text(f"cron_job {job['id']}")
        await expect(newest.locator("ul.changes")).to_contain_text("is_enabled: true → false")
        await expect(oldest).to_contain_text("cron_job.create")
        await expect(oldest).to_contain_text(HOSTILE)  # the stored text, shown as text
        assert await page.title() != "owned"
        assert await page.locator("#audit-table img").count() == 0
        await browser.screenshot("audit-page")
        await browser.check_accessibility("the audit page")

        await page.get_by_label("Operation").select_option("cron_job.create")
        await page.get_by_role("button", name="Apply").click()
        await expect(table.locator("tbody tr")).to_have_count(1)
        await expect(table).to_contain_text("cron_job.create")
        browser.assert_no_console_errors()


async def test_a_viewer_sees_no_action_and_cannot_change_anything(
    viewer_dashboard: tuple[LocalRuntime, str],
) -> None:
    runtime, viewer_url = viewer_dashboard
    job = await api(runtime, "POST", "/api/crons", cron("watched", "sample", {"id": 999}))
    ran = await api(runtime, "POST", f"/api/crons/{job['id']}/run")
    later = [{"handler_name": "sample", "params": {"name": "later"}, "delay_seconds": 3600}]
    batch = (await api(runtime, "POST", "/api/batches", {"runs": later}))["batch"]
    assert runtime.dashboard is not None
    async with chromium() as browser:
        page = browser.page
        # the operator's dashboard offers the actions: the same pages, the same run
        await page.goto(runtime.dashboard.url)
        await expect(page.get_by_role("button", name="New cron job")).to_be_visible()
        await expect(page.get_by_role("button", name="Run watched now")).to_be_visible()
        await page.goto(runtime.dashboard.url + f"#/batches/{batch['id']}")
        await expect(page.get_by_role("button", name="Cancel the batch")).to_be_visible()

        await page.goto(viewer_url)
        await expect(page.locator("#deployment")).to_contain_text("(read only)")
        row = page.locator(f'#cron-list tr[data-cron-id="{job["id"]}"]')
        await expect(row).to_contain_text("watched")
        await expect(row).to_contain_text("On")
        await browser.screenshot("viewer-cron-jobs")
        await browser.check_accessibility("the viewer's cron jobs")
        await nav(page, "Runs").click()
        await expect(run_row(page, ran["run"]["id"])).to_be_visible()
        await nav(page, "Rejected records").click()
        await nav(page, "Queue health").click()
        await expect(page.locator("#queue-health")).to_contain_text("Runs in flight")
        await nav(page, "Audit").click()
        await expect(page.locator("#audit-table tbody tr")).to_have_count(3)  # the operator's three
        await nav(page, "Batches").click()
        await expect(page.locator(f'#batch-list tr[data-batch-id="{batch["id"]}"]')).to_contain_text(
            "RUNNING"
        )
        pages = ["#/crons", "#/runs", f"#/runs/{ran['run']['id']}", "#/batches", f"#/batches/{batch['id']}"]
        for where in (*pages, "#/rejected", "#/queue", "#/audit"):
            await page.goto(viewer_url.split("?")[0] + where)
            await expect(page.locator("#main h1")).to_be_visible()
            await expect(
                page.locator(
                    "#main .actions button, #main [role=switch], #bulk-retry, #bulk-cancel, #redrive, "
                    "#new-cron"
                )
            ).to_have_count(0)
        # a run's page shows what its request carried (its priority, from its cron job)
        await page.goto(viewer_url.split("?")[0] + f"#/runs/{ran['run']['id']}")
        await expect(page.locator("#summary-title + *")).to_contain_text("Prioritynormal")
        browser.assert_no_console_errors()

    # the HTTP API refuses the viewer's changes itself, as API Gateway a viewer's: the function never
    # sees them (its answers are {"error", "detail"} of the API's own shape), and nothing is recorded
    refused = {"error": "forbidden", "detail": "the viewer token may read (GET) only, as the viewer policy"}
    for method, path in (("POST", f"/api/crons/{job['id']}/toggle"), ("DELETE", f"/api/crons/{job['id']}"),
                         ("POST", "/api/access/check")):  # fmt: skip
        status, body = await _as(runtime.viewer_token, runtime, method, path)
        assert (status, json.loads(body)) == (403, refused)
    assert (await _as(runtime.viewer_token, runtime, "GET", f"/api/crons/{job['id']}"))[0] == 200
    status, body = await _as(runtime.token, runtime, "POST", "/api/access/check")
    assert (status, json.loads(body)) == (
        200,
        {"role": "operator", "principal": f"local:{getpass.getuser()}"},
    )
    trail = await api(runtime, "GET", "/api/audit")
    assert [item["operation"] for item in trail["items"]] == [
        "batch.create",
        "cron_job.run_now",
        "cron_job.create",
    ]
    assert (await api(runtime, "GET", f"/api/crons/{job['id']}"))["is_enabled"] is True
