"""Issue 19, finding 1: sample9 made the worker connect wherever params said.

It took sqlite_url, postgres_url and mysql_url from params: one Kafka record opened TCP
connections to a host and port of its choosing (the run's error told open from closed: a port
scanner inside the VPC) and created SQLite files at any writable path. Now it takes database
*names* that operators configured (JOBU_LOAD_DATABASES, and "jobstore"): a record with a URL,
a host or a path is rejected at the edge, and a run stored with one fails without connecting.
Whatever the params say, the canary listener they point at sees no connection and no file is
created. On every backend (the job store's).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jobu.errors import InvalidCronJobError
from jobu.handler_manifest import known_handler_names
from jobu.operations.cron_jobs import parse_spec, validate_spec
from tests.conftest import WORKER_TIMEOUTS
from tests.security.conftest import Canary, msk_event, only_run, rejected
from tests.support.harness import Harness, work_message


def url_params(canary: Canary, folder: Path) -> list[dict[str, Any]]:
    """What an attacker gives sample9: the seed's URL fields, and URLs, hosts and paths as names."""
    postgres = f"postgresql://postgres@127.0.0.1:{canary.port}/jobu"
    mysql = f"mysql://root@127.0.0.1:{canary.port}/jobu"
    sqlite = f"sqlite:///{folder}/created.db"
    return [
        {"sqlite_url": sqlite, "postgres_url": postgres, "mysql_url": mysql},
        {"databases": [postgres]},
        {"databases": [mysql]},
        {"databases": [sqlite]},
        {"databases": [f"127.0.0.1:{canary.port}"]},
        {"databases": [f"{folder}/created.db"]},
    ]


def test_a_sample9_record_with_a_url_is_rejected_at_the_edge(
    harness: Harness, canary: Canary, tmp_path: Path
) -> None:
    attacks = url_params(canary, tmp_path)
    report = harness.invoke_queue(msk_event(*({"handler_name": "sample9", "params": p} for p in attacks)))

    assert report["dispatched"] == []
    assert harness.executions() == []
    reasons = [event.reason for event in rejected(harness)]
    assert len(reasons) == len(attacks)
    assert all(reason.startswith("params for 'sample9' refused") for reason in reasons), reasons
    # the seed's URL fields are unknown keys now; a URL, host or path is not a database name
    unknown_keys = [r for r in reasons if "must not contain" in r]
    assert len(unknown_keys) == 1
    assert all(key in unknown_keys[0] for key in ("'sqlite_url'", "'postgres_url'", "'mysql_url'"))
    assert sum("params.databases[0] must match pattern" in r for r in reasons) == len(attacks) - 1
    assert canary.connections() == 0
    assert not (tmp_path / "created.db").exists()


@pytest.mark.parametrize("attack", range(6))
def test_a_stored_sample9_run_with_a_url_fails_without_connecting(
    harness: Harness, canary: Canary, tmp_path: Path, attack: int
) -> None:
    """A run that skipped the edge (stored before the upgrade, or written by anything else)."""
    execution_id = harness.insert_event_run("sample9", url_params(canary, tmp_path)[attack], max_retry=3)

    assert harness.invoke_worker([work_message(execution_id)]) == {"batchItemFailures": []}

    run = only_run(harness)
    assert (run.status, run.retry_count) == ("FAILED", 0)
    assert "invalid params" in (run.error_message or "")
    assert harness.drain_queue() == 0
    assert canary.connections() == 0
    assert not (tmp_path / "created.db").exists()


def test_a_database_operators_did_not_name_is_refused_before_any_is_reached(
    harness: Harness, canary: Canary, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOBU_LOAD_DATABASES", f"reporting=postgresql://postgres@127.0.0.1:{canary.port}/jobu")
    execution_id = harness.insert_event_run("sample9", {"databases": ["reporting", "warehouse"]}, max_retry=3)

    harness.invoke_worker([work_message(execution_id)])

    run = only_run(harness)
    assert (run.status, run.retry_count) == ("FAILED", 0)
    assert "database refused: 'warehouse' is not configured" in (run.error_message or "")
    assert canary.connections() == 0  # 'reporting' is allowed, but nothing runs until every name is


def test_databases_operators_named_are_reached_by_their_configuration(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: a configured name is reached, and so is the job store by default."""
    monkeypatch.setenv("JOBU_LOAD_DATABASES", f"reports=sqlite:///{tmp_path}/reports.db")
    first = harness.insert_event_run("sample9", {"databases": ["reports"], "series_rows": 10})
    second = harness.insert_event_run("sample9", {})
    harness.invoke_worker([work_message(first), work_message(second)])

    reports, default = harness.executions()
    assert (reports.status, default.status) == ("SUCCESS", "SUCCESS")
    assert [(s["database"], s["row_count"]) for s in reports.result["data"]["databases"]] == [("reports", 10)]
    assert [s["database"] for s in default.result["data"]["databases"]] == ["jobstore"]


def test_the_cron_job_api_refuses_sample9_urls(canary: Canary, tmp_path: Path) -> None:
    for params in url_params(canary, tmp_path):
        spec = parse_spec(
            {
                "name": "probe",
                "cron_expression": "* * * * *",
                "handler_name": "sample9",
                "handler_params": params,
            }
        )
        with pytest.raises(InvalidCronJobError, match="params for 'sample9' refused"):
            validate_spec(spec, known_handlers=known_handler_names(), worker_timeouts=WORKER_TIMEOUTS)
