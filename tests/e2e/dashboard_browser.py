"""Debian's Chromium driven by Playwright, for the dashboard's browser tests.

Playwright's own browser download is not reachable here, so it drives /usr/bin/chromium (installed by
scripts/browser.sh) headless, with the flags Chromium needs on a machine without a network or a
display, and a fresh profile each time. Each page records its console errors; `check_accessibility`
injects axe-core (pinned in tests/e2e/browser/package-lock.json) and fails on serious or critical
violations; `screenshot` saves a PNG under test-artifacts/dashboard/ (gitignored), listed at the end
of the run.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import ConsoleMessage, Page, async_playwright

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = REPO_ROOT / "tests" / "e2e" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = REPO_ROOT / "test-artifacts" / "dashboard"
SAVED: list[Path] = []  # every screenshot of the run, for the terminal summary
BLOCKING = ("serious", "critical")
# Chromium logs every 4xx fetch; a 400 or 409 from the admin API is a refusal the page shows the user
# (a test provokes them), and a 403 to the access probe is how a viewer's dashboard learns its role;
# any other failed load (a 5xx, a missing module) is an error.
REFUSAL = re.compile(
    r"^Failed to load resource: .* status of "
    r"(40[09] .* \(http://127\.0\.0\.1:\d+/api/|403 .* \(http://127\.0\.0\.1:\d+/api/access/check\))"
)


@dataclass
class Browser:
    page: Page
    console_errors: list[str] = field(default_factory=list)

    async def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{re.sub(r'[^a-z0-9-]+', '-', name.lower())}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        SAVED.append(path)
        return path

    async def check_accessibility(self, what: str) -> None:
        """axe-core on the page as it is: no serious or critical violation."""
        if not await self.page.evaluate("() => typeof window.axe !== 'undefined'"):
            # evaluated through the DevTools protocol, so the page's CSP (script-src 'self') allows it
            await self.page.evaluate(AXE.read_text() + "\n;undefined")
        results = await self.page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        )
        blocking = [
            {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in results
            if v["impact"] in BLOCKING
        ]
        assert blocking == [], f"{what}: accessibility violations {json.dumps(blocking, indent=1)}"

    def assert_no_console_errors(self) -> None:
        errors = [error for error in self.console_errors if not REFUSAL.match(error)]
        assert errors == [], errors


@asynccontextmanager
async def chromium(*extra_flags: str) -> AsyncIterator[Browser]:
    if not AXE.exists():
        raise AssertionError(f"{AXE} is missing: run scripts/browser.sh (make test runs it)")
    with tempfile.TemporaryDirectory(prefix="jobu-chromium-") as profile:
        async with async_playwright() as playwright:
            context = await playwright.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                args=[*CHROMIUM_FLAGS, *extra_flags],
                headless=True,
                viewport={"width": 1280, "height": 860},
            )
            try:
                page = context.pages[0] if context.pages else await context.new_page()
                browser = Browser(page)

                def console(message: ConsoleMessage) -> None:
                    if message.type == "error":
                        browser.console_errors.append(f"{message.text} ({message.location.get('url')})")

                page.on("console", console)
                page.on("pageerror", lambda error: browser.console_errors.append(f"page error: {error}"))
                yield browser
            finally:
                await context.close()
