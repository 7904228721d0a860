"""The enqueue API (POST /api/runs, /api/runs/batch) through the admin function's real entry point,
on PostgreSQL, MariaDB and SQLite, with the work queue in moto and the real worker entry point; and
`jobu enqueue` through `jobu`'s own main on a database."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from jobu.models import Execution, NewExecution
from jobu.store import JobStore
from tests.integration.test_admin_api import kafka_event
from tests.integration.test_audit import ANOTHER, OPERATOR, TERMINAL, signed, trail
from tests.integration.test_cli_admin import Cli
from tests.integration.test_cli_admin import cli as jobu_cli  # noqa: F401  # a fixture: `jobu` on a database
from tests.support.admin_client import AdminClient
from tests.support.harness import Harness


def enqueue(admin: AdminClient, **request: Any) -> tuple[int, dict[str, Any]]:
    response = admin.post("/api/runs", body={"handler_name": "sample1", **request})
    assert response.status in (200, 201), response.body
    return response.status, response.json


def test_an_enqueued_run_is_queued_and_the_worker_runs_it(harness: Harness, admin: AdminClient) -> None:
    status, answer = enqueue(admin, params={"name": "api", "value": 3}, priority="high", tags=["orders"])
    run = answer["run"]
    assert (status, answer["deduplicated"]) == (201, False)
    assert (run["param_source"], run["status"], run["job_id"]) == ("api", "PENDING", None)
    assert (run["priority"], run["tags"], run["params"]) == ("high", ["orders"], {"name": "api", "value": 3})
    assert run["queued_at"] is not None
    assert harness.drain_queue() == 1
    assert admin.get(f"/api/jobs/{run['id']}").json["status"] == "SUCCESS"


def test_the_same_idempotency_key_twice_makes_one_run(harness: Harness, admin: AdminClient) -> None:
    first_status, first = enqueue(admin, idempotency_key="order-7", params={"name": "a"})
    second_status, second = enqueue(admin, idempotency_key="order-7", params={"name": "b"})
    assert (first_status, first["deduplicated"]) == (201, False)
    assert (second_status, second["deduplicated"]) == (200, True)
    assert second["run"]["id"] == first["run"]["id"]
    assert second["run"]["params"] == {"name": "a"}
    # another handler's key is its own
    assert enqueue(admin, handler_name="sample2", idempotency_key="order-7")[0] == 201
    assert admin.get("/api/jobs").json["total"] == 2
    assert harness.drain_queue() == 2


def test_a_delayed_run_waits_its_delay(harness: Harness, admin: AdminClient) -> None:
    _, short = enqueue(admin, delay_seconds=600)
    _, long = enqueue(admin, delay_seconds=3600)
    for answer, delay in ((short, 600), (long, 3600)):
        run = answer["run"]
        made = datetime.fromisoformat(run["created_at"])
        assert datetime.fromisoformat(run["available_at"]) - made == timedelta(seconds=delay)
    assert short["run"]["queued_at"] is not None  # SQS delays its message
    assert long["run"]["queued_at"] is None  # past SQS's 15 minutes: the sweeper sends it when due
    assert harness.drain_queue() == 0  # neither may start yet
    assert {run.status.value for run in harness.executions()} == {"PENDING"}


def test_a_batch_answers_each_request_and_runs_the_good_ones(harness: Harness, admin: AdminClient) -> None:
    requests: list[Any] = [
        {"handler_name": "sample1", "params": {"name": "first"}},
        {"handler_name": "nope"},
        {"handler_name": "sample1", "params": {"bogus": 1}},
        {"handler_name": "sample1", "tags": ["a,b"]},
        {"handler_name": "sample1", "priority": "urgent"},
        "not an object",
        {"handler_name": "sample2", "params": {"name": "last"}, "idempotency_key": "k"},
        {"handler_name": "sample2", "idempotency_key": "k"},
    ]
    response = admin.post("/api/runs/batch", body={"runs": requests})
    assert response.status == 200, response.body
    results = response.json["results"]
    assert len(results) == len(requests)
    errors = {index: (results[index]["error"], results[index].get("field")) for index in (1, 2, 3, 4, 5)}
    assert errors == {
        1: ("invalid_request", "handler_name"),
        2: ("invalid_request", "params"),
        3: ("invalid_request", "tags[0]"),
        4: ("invalid_request", "priority"),
        5: ("invalid_request", None),
    }
    assert "unknown handler 'nope'" in results[1]["detail"]
    assert "bogus" in results[2]["detail"]
    good = [results[0], results[6]]
    assert [(r["deduplicated"], r["run"]["param_source"]) for r in good] == [(False, "api"), (False, "api")]
    assert (results[7]["deduplicated"], results[7]["run"]["id"]) == (True, results[6]["run"]["id"])
    assert harness.drain_queue() == 2
    for result in good:
        assert admin.get(f"/api/jobs/{result['run']['id']}").json["status"] == "SUCCESS"

    too_many = admin.post("/api/runs/batch", body={"runs": [{"handler_name": "sample1"}] * 501})
    assert (too_many.status, too_many.json["error"]) == (400, "validation_error")


def test_each_result_is_its_own_requests_run_and_audit_row(harness: Harness, admin: AdminClient) -> None:
    """The keyless runs of a batch are made by one statement: each answer still carries its own
    request's run (params, tags, priority, delay), with keyed ones between them, and the audit rows
    follow the requests' order."""
    requests: list[dict[str, Any]] = []
    for n in range(60):
        request: dict[str, Any] = {
            "handler_name": "sample1",
            "params": {"name": f"run {n}"},
            "tags": [f"t{n}"],
        }
        if n % 7 == 3:
            request["idempotency_key"] = f"key-{n}"
        if n % 5 == 0:
            request |= {"priority": "low", "delay_seconds": 60 + n}
        requests.append(request)
    response, _ = signed("POST", "/api/runs/batch", OPERATOR, body={"runs": requests})
    assert response.status == 200, response.body
    results = response.json["results"]
    for n, (request, result) in enumerate(zip(requests, results, strict=True)):
        run = result["run"]
        assert (run["params"], run["tags"], run["idempotency_key"]) == (
            request["params"], request["tags"], request.get("idempotency_key"),
        ), n  # fmt: skip
        assert run["priority"] == request.get("priority", "normal")
        delay = datetime.fromisoformat(run["available_at"]) - datetime.fromisoformat(run["created_at"])
        assert delay == timedelta(seconds=request.get("delay_seconds", 0))
        assert run["queued_at"] is not None
        stored = admin.get(f"/api/jobs/{run['id']}").json
        assert (stored["params"], stored["tags"], stored["queued_at"]) == (
            run["params"],
            run["tags"],
            run["queued_at"],
        )
    assert len({result["run"]["id"] for result in results}) == len(requests)
    rows = trail(admin, operation="run.enqueue")  # newest first: the same created_at, ids ascending
    assert [row["target_id"] for row in reversed(rows)] == [str(result["run"]["id"]) for result in results]
    assert {row["principal"] for row in rows} == {OPERATOR}
    # the delayed ones may not start yet
    assert harness.drain_queue() == len([request for request in requests if "delay_seconds" not in request])


def test_a_single_bad_request_is_a_400_naming_the_field(admin: AdminClient) -> None:
    for request, field in (
        ({"handler_name": "nope"}, "handler_name"),
        ({"handler_name": "sample1", "params": {"bogus": 1}}, "params"),
        ({"handler_name": "sample1", "delay_seconds": -1}, "delay_seconds"),
        ({"handler_name": "sample1", "job_id": 1}, "job_id"),
        ({"params": {}}, "handler_name"),
    ):
        response = admin.post("/api/runs", body=request)
        assert response.status == 400, request
        assert (response.json["error"], response.json["field"]) == ("invalid_request", field)
    assert admin.get("/api/jobs").json["total"] == 0


def test_an_enqueue_is_in_the_audit_trail_with_its_principal(harness: Harness, admin: AdminClient) -> None:
    answer, request_id = signed("POST", "/api/runs", OPERATOR, body={"handler_name": "sample1"})
    assert answer.status == 201, answer.body
    run_id = answer.json["run"]["id"]
    (row,) = trail(admin, operation="run.enqueue")
    assert (row["principal"], row["target_kind"], row["target_id"]) == (OPERATOR, "run", str(run_id))
    assert row["request_id"] == request_id
    assert row["after_state"]["param_source"] == "api"
    batch, _ = signed("POST", "/api/runs/batch", OPERATOR, body={"runs": [{"handler_name": "sample1"}] * 2})
    assert batch.status == 200
    assert len(trail(admin, operation="run.enqueue")) == 3


def test_jobu_enqueue_on_a_database(jobu_cli: Cli) -> None:  # noqa: F811  # the fixture imported above
    cli = jobu_cli
    made = cli.json("enqueue", "sample1", "--params", '{"name": "cli"}', "--key", "k-1", "--priority", "high",
                    "--tag", "a", "--tag", "b", "--delay", "10m",
                    "--concurrency-key", "tenant-a")  # fmt: skip
    run = made["run"]
    assert run["concurrency_key"] == "tenant-a"
    assert (made["deduplicated"], run["param_source"], run["priority"], run["tags"]) == (
        False,
        "api",
        "high",
        ["a", "b"],
    )
    made_at = datetime.fromisoformat(run["created_at"])
    assert datetime.fromisoformat(run["available_at"]) - made_at == timedelta(minutes=10)
    assert run["params"] == {"name": "cli"}
    assert run["enqueued_by"].startswith("os:")  # `jobu` on a database acts as the OS user
    status, shown, _ = cli("runs", "show", str(run["id"]))
    assert status == 0
    assert re.search(rf"^enqueued_by +{re.escape(run['enqueued_by'])}$", shown, re.MULTILINE), shown
    assert cli.messages() == []  # delayed by SQS
    status, out, _ = cli("enqueue", "sample1", "--key", "k-1")
    assert status == 0
    assert out.startswith(f"not enqueued again: idempotency key 'k-1' is held (run {run['id']} holds it)\n")
    status, out, _ = cli("enqueue", "sample1")
    assert status == 0
    assert out.startswith(f"run {run['id'] + 1} of sample1 enqueued, queued\n")
    assert cli.messages() == [{"execution_id": run["id"] + 1, "attempt": 0}]
    assert cli.refused("enqueue", "sample1", "--params", '{"bogus": 1}').startswith("jobu: invalid_request: ")
    assert cli.refused("enqueue", "nope").startswith(
        "jobu: invalid_request: handler_name: unknown handler 'nope'"
    )
    assert cli.refused("enqueue", "sample1", "--delay", "soon") == (
        "jobu: cannot read --delay 'soon': use seconds, or 30s, 10m, 2h, 1d"
    )


def test_jobu_runs_show_escapes_a_stored_principal(jobu_cli: Cli) -> None:  # noqa: F811  # the fixture imported above
    """enqueued_by is text from outside (a principal): the terminal gets it escaped, --json exact."""
    cli = jobu_cli
    request = NewExecution(
        job_id=None, handler_name="sample1", params={}, param_source="api", max_retry=0, timeout_seconds=300
    )

    async def make(store: JobStore) -> int:
        async def insert(conn: Any) -> list[Execution]:
            return await store.runs.insert_api_many(
                [request], enqueued_by=TERMINAL, now=datetime.now(UTC), conn=conn
            )

        (run,) = await store.connector.run(insert, transaction=True)
        return run.id

    run_id = cli.with_store(make)
    status, out, _ = cli("runs", "show", str(run_id))
    assert status == 0
    assert "\x1b" not in out
    assert "\u202e" not in out
    (line,) = [line for line in out.splitlines() if line.startswith("enqueued_by ")]
    assert line.split(maxsplit=1)[1] == "\\x1b]52;c;aGk=\\x07\\u202eevil"
    assert cli.json("runs", "show", str(run_id))["enqueued_by"] == TERMINAL


def test_a_batch_larger_than_one_sqs_call_is_queued_whole(harness: Harness, admin: AdminClient) -> None:
    requests = [{"handler_name": "sample1", "params": {"name": f"n{index}"}} for index in range(25)]
    response = admin.post("/api/runs/batch", body={"runs": requests})
    assert response.status == 200, response.body
    runs = [result["run"] for result in response.json["results"]]
    assert [run["params"]["name"] for run in runs] == [f"n{index}" for index in range(25)]
    assert all(run["queued_at"] is not None for run in runs)  # three SendMessageBatch calls of 10 at most
    assert harness.drain_queue() == 25
    assert {run.status.value for run in harness.executions()} == {"SUCCESS"}


def test_a_traceparent_header_is_kept_on_the_run_and_a_malformed_one_ignored(
    harness: Harness, admin: AdminClient
) -> None:
    traced = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    response = admin.post("/api/runs", body={"handler_name": "sample1"}, headers={"traceparent": traced})
    assert response.status == 201, response.body
    assert response.json["run"]["trace_parent"] == traced
    for malformed in (traced.upper(), "00-" + "0" * 32 + "-00f067aa0ba902b7-01", traced + "-x"):
        response = admin.post(
            "/api/runs", body={"handler_name": "sample1"}, headers={"traceparent": malformed}
        )
        assert response.status == 201, response.body
        assert response.json["run"]["trace_parent"] is None
    batch = admin.post(
        "/api/runs/batch", body={"runs": [{"handler_name": "sample1"}]}, headers={"traceparent": traced}
    )
    assert [result["run"]["trace_parent"] for result in batch.json["results"]] == [traced]
    assert {run.trace_parent for run in harness.executions()} == {traced, None}
    assert harness.drain_queue() == 5


def test_the_run_names_who_enqueued_it_and_a_kafka_run_names_no_one(
    harness: Harness, admin: AdminClient
) -> None:
    """enqueued_by is the request's principal on each path that makes an API run (one request with and
    without an idempotency key, a batch of requests, a batch's children); a Kafka record's run has none."""

    def detail(run_id: int) -> dict[str, Any]:
        found = admin.get(f"/api/jobs/{run_id}")
        assert found.status == 200, found.body
        shown: dict[str, Any] = found.json
        return shown

    single, _ = signed("POST", "/api/runs", OPERATOR, body={"handler_name": "sample1"})
    keyed, _ = signed("POST", "/api/runs", ANOTHER, body={"handler_name": "sample1", "idempotency_key": "k"})
    many, _ = signed("POST", "/api/runs/batch", OPERATOR, body={"runs": [{"handler_name": "sample1"}] * 2})
    batch, _ = signed("POST", "/api/batches", ANOTHER, body={"runs": [{"handler_name": "sample1"}] * 2})
    assert (single.status, keyed.status, many.status, batch.status) == (201, 201, 200, 201), batch.body
    assert detail(single.json["run"]["id"])["enqueued_by"] == OPERATOR
    assert single.json["run"]["enqueued_by"] == OPERATOR  # the enqueue's answer is the same run
    assert detail(keyed.json["run"]["id"])["enqueued_by"] == ANOTHER
    assert [detail(result["run"]["id"])["enqueued_by"] for result in many.json["results"]] == [OPERATOR] * 2
    assert [detail(run_id)["enqueued_by"] for run_id in batch.json["run_ids"]] == [ANOTHER] * 2
    # a principal longer than the column keeps its first 512 characters (the audit row keeps it whole)
    long = "arn:aws:sts::123456789012:assumed-role/" + "r" * 600
    for path, body in (
        ("/api/runs", {"handler_name": "sample1"}),
        ("/api/runs", {"handler_name": "sample1", "idempotency_key": "long"}),
        ("/api/batches", {"runs": [{"handler_name": "sample1"}]}),
    ):
        answer, _ = signed("POST", path, long, body=body)
        assert answer.status == 201, answer.body
        run_id = answer.json["run"]["id"] if path == "/api/runs" else answer.json["run_ids"][0]
        assert detail(run_id)["enqueued_by"] == long[:512]
    before = {run.id for run in harness.executions()}
    harness.invoke_queue(kafka_event(7, {"handler_name": "sample1", "params": {"name": "ev"}}))
    (kafka_run,) = [run for run in harness.executions() if run.id not in before]
    shown = detail(kafka_run.id)
    assert (shown["param_source"], shown["enqueued_by"]) == ("event", None)
