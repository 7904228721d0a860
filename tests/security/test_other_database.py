"""Attack 3: make the worker connect anywhere with a `database_url` in params.

Before issue 9 the URL was used as given, and event params win over the cron job's. Now the
queue dispatcher rejects such a record at the edge (the db_loader schema has no database_url);
a run that carries one anyway (stored before the upgrade) fails at once; a database that
operators did not name is refused; the cron job API refuses the params. The other database
stays untouched. On every backend (the job store's); the other database is a SQLite file.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jobu.errors import InvalidCronJobError
from jobu.handler_manifest import known_handler_names
from jobu.operations.cron_jobs import parse_spec, validate_spec
from tests.security.conftest import data_root, only_run, produce, rejected
from tests.security.test_job_store import add_job
from tests.support.harness import Harness, work_message


@pytest.fixture
def other_database(tmp_path: Path) -> Path:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE sales (name TEXT)")
    return path


def other_rows(path: Path) -> list[Any]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT * FROM sales").fetchall()


def input_file(harness: Harness) -> str:
    path = data_root(harness) / "in.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"name": ["mallory"]}), path)
    return path.name


def test_a_database_url_in_a_record_is_rejected_at_the_edge(harness: Harness, other_database: Path) -> None:
    job_id = add_job(harness, "nightly-load", "db_loader", {"input_path": "sales.parquet", "table": "sales"})
    params = {
        "input_path": input_file(harness),
        "table": "sales",
        "database_url": f"sqlite:///{other_database}",
    }

    produce(harness, "db_loader", params, job_id)

    assert harness.executions() == []
    (refused,) = rejected(harness)
    assert "must not contain {'database_url'}" in refused.reason
    assert other_rows(other_database) == []


def test_a_database_url_hidden_in_an_on_success_chain_is_rejected(
    harness: Harness, other_database: Path
) -> None:
    chain = {
        "handler_name": "db_loader",
        "params": {
            "input_path": "x.parquet",
            "table": "sales",
            "database_url": f"sqlite:///{other_database}",
        },
    }
    produce(harness, "sample", {"name": "innocent", "on_success": chain})

    assert harness.executions() == []
    (refused,) = rejected(harness)
    assert "database_url" in refused.reason


def test_a_stored_run_with_a_database_url_fails_without_retries(
    harness: Harness, other_database: Path
) -> None:
    """A run written before the upgrade (or by anything that skipped the edge)."""
    params = {
        "input_path": input_file(harness),
        "table": "sales",
        "database_url": f"sqlite:///{other_database}",
    }
    execution_id = harness.insert_event_run("db_loader", params, max_retry=3)

    assert harness.invoke_worker([work_message(execution_id)]) == {"batchItemFailures": []}

    run = only_run(harness)
    assert (run.status, run.retry_count) == ("FAILED", 0)
    assert "database_url is not accepted in params" in (run.error_message or "")
    assert harness.drain_queue() == 0
    assert other_rows(other_database) == []


def test_a_database_operators_did_not_name_is_refused(harness: Harness) -> None:
    produce(
        harness, "db_loader", {"input_path": input_file(harness), "table": "sales", "database": "warehouse"}
    )

    run = only_run(harness)
    assert (run.status, run.retry_count) == ("FAILED", 0)
    assert "database refused: 'warehouse' is not configured" in (run.error_message or "")


def test_a_named_database_is_reached_by_its_configuration(
    harness: Harness, other_database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: an operator who names the database and its table gets the load."""
    monkeypatch.setenv("JOBU_LOAD_DATABASES", f"warehouse=sqlite:///{other_database}")
    monkeypatch.setenv("JOBU_LOAD_TABLES", "warehouse:sales")

    produce(
        harness, "db_loader", {"input_path": input_file(harness), "table": "sales", "database": "warehouse"}
    )

    assert only_run(harness).status == "SUCCESS"
    assert other_rows(other_database) == [("mallory",)]


def test_the_cron_job_api_refuses_a_database_url() -> None:
    spec = parse_spec(
        {
            "name": "evil",
            "cron_expression": "* * * * *",
            "handler_name": "db_loader",
            "handler_params": {"input_path": "a", "table": "sales", "database_url": "postgresql://evil/x"},
        }
    )
    with pytest.raises(InvalidCronJobError, match=r"must not contain \{'database_url'\}"):
        validate_spec(spec, known_handlers=known_handler_names(), worker_timeout_seconds=900)
