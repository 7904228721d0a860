"""The Limits page in a real browser (Debian's Chromium, driven by Playwright) against the local
runtime: an operator sets a handler's per-key limit through the form (a refused value shows the API's
reason, the field named), sees sleep runs of one key held back while another key's go, raises the
limit and clears it; a viewer sees the same page with no action. Every page visited passes axe-core
without serious or critical violations and logs no console error; screenshots under
test-artifacts/dashboard/."""

from __future__ import annotations

from playwright.async_api import expect

from jobu_local.runtime.runtime import LocalRuntime
from tests.e2e.conftest import StartRuntime
from tests.e2e.dashboard_browser import chromium
from tests.e2e.test_dashboard import api, nav, start
from tests.e2e.test_dashboard_roles import viewer_dashboard  # noqa: F401  # a fixture

SLOW = 30_000  # ms


async def sleep_runs(runtime: LocalRuntime, key: str, count: int, seconds: int) -> list[int]:
    made = []
    for _ in range(count):
        body = {"handler_name": "sleep", "params": {"seconds": seconds}, "concurrency_key": key}
        made.append((await api(runtime, "POST", "/api/runs", body))["run"]["id"])
    return made


async def test_an_operator_sets_a_per_key_limit_and_sees_what_it_holds_back(
    sqlite_url: str, start_runtime: StartRuntime
) -> None:
    runtime = await start(start_runtime, sqlite_url)
    async with chromium() as browser:
        page = browser.page
        await page.goto(runtime.dashboard.url)  # type: ignore[union-attr]
        await nav(page, "Limits").click()
        await expect(page.get_by_role("heading", name="Limits")).to_be_visible()
        await expect(page.locator("#limits-table tbody")).to_contain_text("No handler has limits")

        await page.get_by_label("Handler", exact=True).fill("sleep")
        await page.get_by_role("button", name="Set limits").click()
        await expect(page.get_by_role("heading", name="Limits of sleep")).to_be_visible()
        await page.get_by_label("Per key", exact=True).fill("0")
        await page.get_by_role("button", name="Save").click()
        await expect(page.locator("#limits-form-error")).to_contain_text("per_key_concurrency")
        await page.get_by_label("Per key", exact=True).fill("1")
        await page.get_by_role("button", name="Save").click()
        await expect(page.locator("#limits-form")).to_have_count(0)  # closed once the API answered
        row = page.locator('#limits-table tr[data-handler="sleep"]')
        await expect(row).to_contain_text("override")
        await browser.check_accessibility("the limits page")

        # one key's runs beyond its limit wait; another key's go alongside
        held = await sleep_runs(runtime, "tenant-a", 3, 20)
        await sleep_runs(runtime, "tenant-b", 1, 20)
        await page.reload()
        tenant_a = row.locator('li[data-key="tenant-a"]')
        await expect(tenant_a).to_contain_text("2 waiting", timeout=SLOW)
        await expect(row.locator('li[data-key="tenant-b"]')).to_contain_text("0 waiting")
        await expect(row.locator("td.waiting")).to_have_text("2")
        await browser.screenshot("limits-per-key")
        status = await api(runtime, "GET", "/api/limits/sleep")
        assert status["waiting"] == 2
        assert {key["concurrency_key"] for key in status["keys"]} == {"tenant-a", "tenant-b"}

        # a higher limit hands the waiting runs over at once
        await row.get_by_role("button", name="Edit the limits of sleep").click()
        await expect(page.get_by_label("Per key", exact=True)).to_have_value("1")
        await page.get_by_label("Per key", exact=True).fill("3")
        await page.get_by_role("button", name="Save").click()
        await expect(tenant_a).to_contain_text("0 waiting")
        assert (await api(runtime, "GET", "/api/limits/sleep"))["waiting"] == 0
        assert len(held) == 3

        await row.get_by_role("button", name="Clear the limits of sleep").click()
        await page.get_by_role("dialog").get_by_role("button", name="Clear").click()
        await expect(page.locator("#notice")).to_contain_text("Limits of sleep cleared")
        assert (await api(runtime, "GET", "/api/limits/sleep"))["source"] == "none"
        trail = await api(runtime, "GET", "/api/audit?operation=limits.set")
        assert [item["target_id"] for item in trail["items"]] == ["sleep", "sleep"]
        browser.assert_no_console_errors()


async def test_a_viewer_reads_the_limits_and_changes_nothing(
    viewer_dashboard: tuple[LocalRuntime, str],  # noqa: F811  # the fixture imported above
) -> None:
    runtime, viewer_url = viewer_dashboard
    body = {"concurrency": None, "per_key_concurrency": 2, "rate": {"limit": 10, "period_seconds": 60}}
    await api(runtime, "PUT", "/api/limits/sleep", body)
    async with chromium() as browser:
        page = browser.page
        await page.goto(viewer_url)
        await expect(page.locator("#deployment")).to_contain_text("(read only)")
        await nav(page, "Limits").click()
        row = page.locator('#limits-table tr[data-handler="sleep"]')
        await expect(row).to_contain_text("10 per 60 s, burst 1")
        await expect(row.locator("button")).to_have_count(0)
        await expect(page.locator("#limits-new")).to_have_count(0)
        await browser.screenshot("viewer-limits")
        await browser.check_accessibility("the viewer's limits")
        browser.assert_no_console_errors()
