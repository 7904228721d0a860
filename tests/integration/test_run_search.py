"""Runs found by their params (`GET /api/jobs?param.<key>=<value>`), in the history, the statistics
and the bulk retry's filter, through the admin function's real entry point on PostgreSQL, MariaDB
and SQLite: strings exactly, numbers numerically, booleans and null, several keys ANDed, arrays and
objects never, hostile keys and values refused naming the parameter."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from jobu.handler_manifest import known_handler_names
from jobu.operations.enqueue import enqueue_one
from jobu.store import JobStore
from jobu.work_queue import WorkQueue
from tests.integration.test_cli_admin import Cli
from tests.integration.test_cli_admin import cli as jobu_cli  # noqa: F401  # a fixture: `jobu` on a database
from tests.support.admin_client import AdminClient
from tests.support.harness import Harness
from tests.support.principals import TEST_ACTOR

NOTE = 'café "q" & , ok\\ \u202e'
PARAMS: list[dict[str, Any]] = [
    {"customer": "acme", "order": 7},  # 0
    {"customer": "Acme", "order": "7"},  # 1
    {"customer": "acme", "order": 7.5, "flag": True},  # 2
    {"customer": ["acme"], "order": {"n": 7}},  # 3
    {"note": NOTE, "missing": None, "flag": False},  # 4
    {"customer": "acme", "order": 70, "big": 12345678901234},  # 5
]


@pytest.fixture
def run_ids(harness: Harness, admin: AdminClient) -> list[int]:
    ids = []
    for params in PARAMS:
        answer = admin.post("/api/runs", body={"handler_name": "sample", "params": params})
        assert answer.status == 201, answer.json
        ids.append(answer.json["run"]["id"])
    return ids


def found(admin: AdminClient, run_ids: list[int], query: dict[str, Any] | str) -> list[int]:
    """The PARAMS indexes of the runs the query lists, in PARAMS' order."""
    answer = admin.get("/api/jobs", query=query)
    assert answer.status == 200, answer.json
    listed = {run["id"] for run in answer.json["items"]}
    assert answer.json["total"] == len(listed)
    return [n for n, run_id in enumerate(run_ids) if run_id in listed]


def test_a_string_matches_exactly_and_a_number_also_numerically(
    admin: AdminClient, run_ids: list[int]
) -> None:
    assert found(admin, run_ids, {"param.customer": "acme"}) == [0, 2, 5]  # not "Acme", not ["acme"]
    assert found(admin, run_ids, {"param.customer": "Acme"}) == [1]
    assert found(admin, run_ids, {"param.order": "7"}) == [0, 1]  # 7 and "7"; not 70, not {"n": 7}
    assert found(admin, run_ids, {"param.order": "7.0"}) == [0]  # the number 7, not the string "7"
    assert found(admin, run_ids, {"param.order": "7.50"}) == [2]
    assert found(admin, run_ids, {"param.big": "12345678901234"}) == [5]
    assert found(admin, run_ids, {"param.flag": "true"}) == [2]
    assert found(admin, run_ids, {"param.flag": "false"}) == [4]
    assert found(admin, run_ids, {"param.missing": "null"}) == [4]
    assert found(admin, run_ids, {"param.note": NOTE}) == [4]
    assert found(admin, run_ids, {"param.note": NOTE.upper()}) == []
    assert found(admin, run_ids, {"param.nobody": "acme"}) == []
    assert found(admin, run_ids, {"param.customer": ""}) == []


def test_several_params_are_anded_and_combine_with_the_other_filters(
    admin: AdminClient, run_ids: list[int]
) -> None:
    assert found(admin, run_ids, {"param.customer": "acme", "param.order": "7"}) == [0]
    assert found(admin, run_ids, {"param.customer": "acme", "param.order": "7.5"}) == [2]
    assert found(admin, run_ids, {"param.customer": "acme", "param.flag": "false"}) == []
    assert found(
        admin, run_ids, {"param.customer": "acme", "handler_name": "sample", "status": "PENDING"}
    ) == [
        0,
        2,
        5,
    ]
    assert found(admin, run_ids, {"param.customer": "acme", "handler_name": "sample2"}) == []
    counts = admin.get("/api/stats/status-counts", query={"param.customer": "acme"})
    assert counts.status == 200, counts.json
    assert (counts.json["total"], counts.json["counts"]["PENDING"]) == (3, 3)
    timeline = admin.get("/api/stats/timeline", query={"param.order": "7"})
    assert timeline.status == 200, timeline.json
    assert sum(bucket["runs"] for bucket in timeline.json["buckets"]) == 2


def test_the_bulk_retry_takes_the_params_filter(
    harness: Harness, admin: AdminClient, run_ids: list[int]
) -> None:
    failing = [  # sample1 fails without a name
        admin.post("/api/runs", body={"handler_name": "sample1", "params": {"value": value}}).json["run"][
            "id"
        ]
        for value in ("acme", "globex")
    ]
    assert harness.drain_queue() == len(PARAMS) + 2
    answer = admin.post("/api/jobs/bulk-retry", body={"params": {"value": "acme"}, "dry_run": True})
    assert answer.status == 200, answer.json
    assert (answer.json["matched"], answer.json["ids"]) == (1, [failing[0]])
    refused = admin.post("/api/jobs/bulk-retry", body={"params": {"bad key": "x"}})
    assert refused.status == 400
    assert refused.json["detail"][0]["loc"][:2] == ["body", "params"]


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        ("param.a-b=1", ["query", "param.a-b"]),
        ("param.=1", ["query", "param."]),
        ("param.9lives=1", ["query", "param.9lives"]),
        (f"param.{'k' * 65}=1", ["query", f"param.{'k' * 65}"]),
        (f"param.name={'v' * 201}", ["query", "param.name"]),
        ("param.name=%00", ["query", "param.name"]),
        ("param.name=a&param.name=b", ["query", "param.name"]),
        ("&".join(f"param.k{n}=v" for n in range(11)), ["query", "param"]),
    ],
)
def test_a_bad_key_or_value_is_refused_naming_the_parameter(
    harness: Harness, admin: AdminClient, query: str, loc: list[str]
) -> None:
    for path in ("/api/jobs", "/api/stats/status-counts"):
        refused = admin.get(path, query=query)
        assert refused.status == 400, refused.json
        assert refused.json["error"] == "validation_error"
        assert refused.json["detail"][0]["loc"] == loc


def test_jobu_runs_list_by_param(jobu_cli: Cli) -> None:  # noqa: F811  # the fixture imported above
    cli = jobu_cli

    async def enqueue(store: JobStore) -> None:
        queue = WorkQueue(sqs_client=cli.sqs, queue_url=cli.work_queue_url)
        for params in PARAMS:
            await enqueue_one(
                store, queue, {"handler_name": "sample", "params": params},
                known_handlers=known_handler_names(), now=datetime.now(UTC), actor=TEST_ACTOR,
            )  # fmt: skip

    cli.with_store(enqueue)
    listed = cli.json("runs", "list", "--param", "customer=acme", "--param", "order=7")
    assert [run["id"] for run in listed] == [1]
    assert len(cli.json("runs", "list", "--param", "order=7")) == 2
    assert cli.json("runs", "list", "--param", f"note={NOTE}")[0]["id"] == 5
    assert cli.refused("runs", "list", "--param", "a-b=1").startswith("jobu: validation_error: param.a-b: ")
    assert cli.refused("runs", "list", "--param", "k=1", "--param", "k=2") == (
        "jobu: --param k is given twice: give each key once"
    )
