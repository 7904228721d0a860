"""`make demo` (`jobu demo`) end to end, in a folder of its own: both runs succeed, their logs read
back, and it ends by calling the admin API with curl and with the CLI through --api-url."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from jobu_local.commands.demo import Demo
from jobu_local.runtime.state import STATE_DIR_VARIABLE


async def test_the_demo_ends_with_the_admin_api_in_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(STATE_DIR_VARIABLE, str(tmp_path / "unused"))  # the demo points it at its folder
    demo = Demo(timeout_seconds=60, directory=tmp_path / "demo")

    await demo.run()

    out = capsys.readouterr().out
    found = re.search(r"\[8/8\] admin API: (http://127\.0\.0\.1:\d+) ", out)
    assert found is not None, out
    url = found.group(1)
    token = f"$(jq -r .token {tmp_path / 'demo' / 'runtime.json'})"
    curl = out.split(f'$ curl -s -H "Authorization: Bearer {token}" {url}/api/crons\n', 1)[1].splitlines()[0]
    page = json.loads(curl)
    assert [(job["name"], page["total"]) for job in page["items"]] == [("demo-every-minute", 1)]
    assert f'$ jobu cron run demo-every-minute --params \'{{"name": "by hand"}}\' --api-url {url}\n' in out
    assert "run 3 of cron job 1 (demo-every-minute) created, queued" in out
    detail = out.split(f"$ jobu runs show 3 --api-url {url}\n", 1)[1]
    assert "status           SUCCESS" in detail
    assert "  name    by hand  manual" in detail
    assert "stopped: nothing left running" in out
    # a Kafka record's place, written as everywhere else: topic:partition:offset
    assert re.search(r"\n      produced to jobu-events:\d:0: \{", out), out
