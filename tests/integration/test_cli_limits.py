"""`jobu limits` on a database: PostgreSQL, MariaDB and SQLite in turn (the work queue in moto), every
command through `jobu`'s own main as a user types it: list, show, set (a flag not given keeps its
value), clear, what the limits hold back per key, refusals in one line, and --json."""

from __future__ import annotations

from typing import Any

from tests.integration.test_cli_admin import Cli
from tests.integration.test_cli_admin import cli as jobu_cli  # noqa: F401  # a fixture: `jobu` on a database


def enqueue_sleep(cli: Cli, key: str) -> Any:
    return cli.json("enqueue", "sleep", "--params", '{"seconds": 0}', "--concurrency-key", key)["run"]


def test_limits_set_shown_and_cleared(jobu_cli: Cli) -> None:  # noqa: F811  # the fixture imported above
    cli = jobu_cli
    assert cli.json("limits") == []
    status, out, _ = cli("limits")
    assert (status, out) == (0, "no handler has limits (set some: jobu limits set HANDLER --per-key 2)\n")

    status, out, _ = cli("limits", "set", "sleep", "--per-key", "2", "--rate", "60/60", "--burst", "5")
    assert status == 0
    assert "source               override" in out
    assert "per_key_concurrency  2" in out
    assert "rate                 60/60s burst 5" in out
    assert "code's limits        none" in out
    shown = cli.json("limits", "show", "sleep")
    assert shown["limits"] == {
        "concurrency": None,
        "per_key_concurrency": 2,
        "rate": {"limit": 60, "period_seconds": 60, "burst": 5},
    }
    assert shown["updated_by"] is not None

    # a flag not given keeps its value; a new rate keeps the burst; none removes a limit
    changed = cli.json("limits", "set", "sleep", "--concurrency", "10", "--rate", "30/60")
    assert changed["limits"] == {
        "concurrency": 10,
        "per_key_concurrency": 2,
        "rate": {"limit": 30, "period_seconds": 60, "burst": 5},
    }
    no_rate = cli.json("limits", "set", "sleep", "--rate", "none")
    assert (no_rate["limits"]["rate"], no_rate["limits"]["per_key_concurrency"]) == (None, 2)

    # three runs of one key and one of another: the per-key limit of 2 holds the third back
    made = [enqueue_sleep(cli, "tenant-a") for _ in range(3)] + [enqueue_sleep(cli, "tenant-b")]
    listed = cli.json("limits")
    assert [item["handler_name"] for item in listed] == ["sleep"]
    (sleep,) = listed
    assert (sleep["pending"], sleep["waiting"], sleep["running"]) == (3, 1, 0)
    keys = {key["concurrency_key"]: (key["pending"], key["waiting"]) for key in sleep["keys"]}
    assert keys == {"tenant-a": (2, 1), "tenant-b": (1, 0)}
    assert {m["execution_id"] for m in cli.messages()} == {made[0]["id"], made[1]["id"], made[3]["id"]}
    status, out, _ = cli("limits")
    assert status == 0
    assert "sleep    10           2        none  override  0        3        1" in out
    assert "tenant-a 0/2/1, tenant-b 0/1/0" in out
    status, out, _ = cli("limits", "show", "sleep")
    assert "tenant-a  0        2        1" in out

    # raising the limit hands the waiting run over at once
    raised = cli.json("limits", "set", "sleep", "--per-key", "3")
    assert (raised["pending"], raised["waiting"]) == (4, 0)

    cleared = cli.json("limits", "clear", "sleep")
    assert (cleared["source"], cleared["limits"]["per_key_concurrency"]) == ("none", None)
    status, out, _ = cli("limits", "clear", "sleep")
    assert status == 0
    assert "source               none" in out

    trail = cli.json("audit")
    operations = [item["operation"] for item in trail if item["operation"].startswith("limits.")]
    assert operations == [
        "limits.clear",
        "limits.clear",
        "limits.set",
        "limits.set",
        "limits.set",
        "limits.set",
    ]


def test_limits_refusals_are_one_line(jobu_cli: Cli) -> None:  # noqa: F811  # the fixture imported above
    cli = jobu_cli
    assert cli.refused("limits", "set", "sleep") == (
        "jobu: give at least one of --concurrency, --per-key, --rate, --burst"
    )
    assert cli.refused("limits", "set", "sleep", "--per-key", "two") == (
        "jobu: --per-key: a whole number, or 'none', not 'two'"
    )
    assert cli.refused("limits", "set", "sleep", "--rate", "10 a minute") == (
        "jobu: --rate: LIMIT/PERIOD_SECONDS (e.g. 10/60: ten starts a minute), or 'none', not '10 a minute'"
    )
    assert cli.refused("limits", "set", "sleep", "--burst", "2") == (
        "jobu: --burst: only with a rate (give --rate LIMIT/PERIOD_SECONDS)"
    )
    # the API's own refusals, with the field they name
    assert cli.refused("limits", "set", "sleep", "--per-key", "0").startswith(
        "jobu: invalid_limits: per_key_concurrency: "
    )
    assert cli.refused("limits", "set", "sleep", "--concurrency", "1", "--per-key", "2").startswith(
        "jobu: invalid_limits: per_key_concurrency: should be at most concurrency"
    )
    assert cli.refused("limits", "set", "sleep", "--rate", "2/60", "--burst", "3").startswith(
        "jobu: invalid_limits: rate.burst: should be at most rate.limit"
    )
    assert cli.refused("limits", "show", "nope").startswith("jobu: not_found: no handler 'nope' is deployed")
    assert cli.json("limits") == []  # nothing was set
