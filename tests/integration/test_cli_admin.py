"""The `jobu` CLI's admin commands on a database: PostgreSQL, MariaDB and SQLite in turn, the work
queue and its dead-letter queue in moto (JOBU_WORK_QUEUE_URL, JOBU_DEAD_LETTER_QUEUE_URL), every
command through `jobu`'s own main as a user types it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from jobu.event_dispatch import dispatch_event
from jobu.handler_manifest import known_handler_names
from jobu.models import ExecutionStatus
from jobu.store import JobStore, open_store
from jobu.work_queue import WorkQueue
from jobu_local.commands.cli import main
from tests.integration.test_admin_api import UNREACHABLE, end_run, event_run, kafka_event
from tests.integration.test_operations import end_with_child

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@dataclass
class Cli:
    database_url: str
    capsys: pytest.CaptureFixture[str]
    sqs: Any
    work_queue_url: str
    dead_letter_url: str

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        """`jobu ARGV --database-url URL`: the exit status, stdout and stderr."""
        self.capsys.readouterr()
        status = main([*argv, "--database-url", self.database_url])
        captured = self.capsys.readouterr()
        return status, captured.out, captured.err

    def json(self, *argv: str) -> Any:
        status, out, err = self(*argv, "--json")
        assert status == 0, err
        return json.loads(out)

    def refused(self, *argv: str) -> str:
        """The one line a refused command prints (it exits with status 2)."""
        status, out, err = self(*argv)
        assert (status, out) == (2, ""), err
        assert len(err.splitlines()) == 1
        return err.strip()

    def with_store[T](self, action: Callable[[JobStore], Awaitable[T]]) -> T:
        async def run() -> T:
            store = await open_store(self.database_url)
            try:
                return await action(store)
            finally:
                await store.close()

        return asyncio.run(run())

    def messages(self, queue_url: str | None = None) -> list[dict[str, Any]]:
        found = self.sqs.receive_message(
            QueueUrl=queue_url or self.work_queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0
        ).get("Messages", [])
        return sorted((json.loads(m["Body"]) for m in found), key=lambda m: m["execution_id"])


@pytest.fixture
def cli(
    database_url: str,
    aws_env: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Cli:
    sqs = boto3.client("sqs")
    work = sqs.create_queue(QueueName="cli-work", Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
    dead = sqs.create_queue(QueueName="cli-work-dlq")["QueueUrl"]
    monkeypatch.setenv("JOBU_WORK_QUEUE_URL", work)
    monkeypatch.setenv("JOBU_DEAD_LETTER_QUEUE_URL", dead)
    # the pipeline pool's queues, which the command reads with every pool's (jobu.pools)
    monkeypatch.setenv("JOBU_WORK_QUEUE_URL_PIPELINE", sqs.create_queue(QueueName="cli-pipeline")["QueueUrl"])
    monkeypatch.setenv(
        "JOBU_DEAD_LETTER_QUEUE_URL_PIPELINE", sqs.create_queue(QueueName="cli-pipeline-dlq")["QueueUrl"]
    )
    monkeypatch.setenv("JOBU_LOCAL_STATE_DIR", str(tmp_path / "state"))  # no runtime running
    monkeypatch.delenv("JOBU_DATABASE_URL", raising=False)
    tool = Cli(database_url, capsys, sqs, work, dead)
    tool.with_store(lambda store: store.migrate())
    return tool


def test_cron_jobs_from_add_to_delete(cli: Cli) -> None:
    status, out, _ = cli("cron", "add", "--name", "nightly", "--cron", "0 2 * * *", "--handler", "sample",
                         "--params", '{"name": "base", "action": "read"}', "--no-overlap")  # fmt: skip
    assert status == 0
    assert "nightly  0 2 * * *  UTC   sample   enabled  skip" in out
    assert cli.refused("cron", "add", "--name", "nightly", "--cron", "5 * * * *", "--handler", "sample") == (
        "jobu: duplicate: a cron job named 'nightly' exists already"
    )
    assert "jobu: invalid_cron_job: cron expression '* * * * * *' has 6 fields" in cli.refused(
        "cron", "add", "--name", "fast", "--cron", "* * * * * *", "--handler", "sample"
    )
    assert cli.refused("cron", "add", "--name", "x", "--cron", "0 2 * * *", "--handler", "nope").startswith(
        "jobu: invalid_cron_job: unknown handler 'nope'"
    )
    assert cli.refused("cron", "add", "--name", "x" * 101, "--cron", "0 2 * * *", "--handler", "sample") == (
        "jobu: validation_error: name: String should have at most 100 characters"
    )

    (listed,) = cli.json("cron", "list")
    assert cli.json("cron", "show", "nightly") == cli.json("cron", "show", str(listed["id"])) == listed
    assert cli.json("cron", "list", "--disabled") == []
    changed = cli.json("cron", "update", "nightly", "--cron", "*/5 * * * *", "--description", "every 5")
    assert (changed["cron_expression"], changed["description"], changed["allow_overlap"]) == (
        "*/5 * * * *",
        "every 5",
        False,
    )
    assert cli.refused("cron", "update", "nightly", "--max-retry", "11") == (
        "jobu: validation_error: max_retry: Input should be less than or equal to 10"
    )

    disabled = cli.json("cron", "disable", "nightly")
    assert (disabled["is_enabled"], disabled["next_run_at"]) == (False, None)
    assert cli.json("cron", "disable", "nightly")["is_enabled"] is False  # already: unchanged
    assert cli.json("cron", "toggle", "nightly")["is_enabled"] is True
    assert cli.json("cron", "enable", str(listed["id"]))["next_run_at"] is not None

    ran = cli.json("cron", "run", "nightly", "--params", '{"name": "by hand"}')
    run = ran["run"]
    assert (ran["queued"], run["param_source"], run["params"]) == (
        True,
        "manual",
        {"name": "by hand", "action": "read"},
    )
    assert cli.messages() == [{"execution_id": run["id"], "attempt": 0}]
    # allow_overlap is false and that run is pending: a second one is refused
    assert cli.refused("cron", "run", "nightly").startswith("jobu: invalid_state: cron job")
    provenance = cli.json("runs", "show", str(run["id"]))["params_provenance"]
    assert provenance == {"name": "manual", "action": "cron"}

    status, out, _ = cli("cron", "delete", "nightly")
    assert (status, out) == (0, f"deleted cron job {listed['id']} (nightly); its runs stay\n")
    assert cli.refused("cron", "show", "nightly") == "jobu: not_found: no cron job named 'nightly'"
    assert (
        cli.refused("cron", "remove", str(listed["id"]))
        == f"jobu: not_found: no cron job with id {listed['id']}"
    )
    assert cli.json("runs", "show", str(run["id"]))["job_id"] is None


def test_scheduling_commands_pause_resume_backfill_preview_and_cancel(cli: Cli) -> None:
    status, out, _ = cli("cron", "add", "--name", "paris", "--cron", "0 9 * * *", "--handler", "sample",
                         "--timezone", "Europe/Paris", "--catchup", "all", "--catchup-limit", "3",
                         "--overlap-policy", "queue_one")  # fmt: skip
    assert status == 0, out
    status, out, _ = cli("cron", "show", "paris")
    assert "timezone         Europe/Paris" in out
    assert "catchup          all (limit 3, window - s)" in out
    assert "overlap_policy   queue_one" in out
    assert cli("cron", "update", "paris", "--catchup-window", "7200")[0] == 0
    assert "catchup          all (limit 3, window 7200 s)" in cli("cron", "show", "paris")[1]
    assert cli("cron", "update", "paris", "--catchup-window", "0")[0] == 0  # 0: no window
    assert "catchup          all (limit 3, window - s)" in cli("cron", "show", "paris")[1]
    assert cli.refused("cron", "update", "paris", "--timezone", "Mars/Olympus") == (
        "jobu: invalid_cron_job: unknown time zone 'Mars/Olympus': use an IANA name such as 'UTC', "
        "'Europe/Berlin' or 'America/New_York'"
    )

    # 09:00 in New York is 14:00 UTC before the clocks change (EST) and 13:00 after (EDT)
    preview = cli.json("cron", "preview", "0 9 * * *", "--timezone", "America/New_York", "--count", "2")
    assert len(preview["next_fire_times"]) == 2
    assert all(local.endswith("09:00:00-05:00") or local.endswith("09:00:00-04:00")
               for local in preview["next_fire_times_local"])  # fmt: skip
    status, out, _ = cli("cron", "preview", "@daily", "--count", "1")
    assert status == 0
    assert out.count("(UTC)") == 1
    assert "T00:00:00+00:00" in out
    assert cli.refused("cron", "preview", "61 * * * *").startswith("jobu: invalid_cron_job: ")

    paused = cli.json("cron", "pause", "paris", "--until", "2h")
    until = datetime.fromisoformat(paused["paused_until"])
    assert timedelta(hours=1, minutes=59) < until - datetime.now(UTC) <= timedelta(hours=2)
    status, out, _ = cli("cron", "list")
    assert "paused until " in out
    assert cli.refused("cron", "pause", "paris", "--until", "2020-01-01T00:00:00Z").startswith(
        "jobu: invalid_cron_job: until must be in the future"
    )
    status, out, _ = cli("cron", "resume", "paris")
    assert (status, out.splitlines()[0]) == (
        0,
        f"resumed cron job {paused['id']} (paris); the slots passed while paused follow its catch-up "
        "policy (all)",
    )
    assert cli.refused("cron", "resume", "paris") == (
        f"jobu: invalid_state: cron job {paused['id']} is not paused"
    )

    # three passed slots: a dry run lists them, --apply creates and queues them, again creates none
    start, end = "2026-11-01T00:00:00+01:00", "2026-11-03T23:00:00+01:00"
    dry = cli.json("cron", "backfill", "paris", "--start", start, "--end", end)
    assert [slot["scheduled_time"] for slot in dry["slots"]] == [
        "2026-11-01T08:00:00Z", "2026-11-02T08:00:00Z", "2026-11-03T08:00:00Z"
    ]  # fmt: skip
    assert (dry["dry_run"], dry["created"], cli.messages()) == (True, 0, [])
    status, out, _ = cli("cron", "backfill", "paris", "--start", start, "--end", end, "--apply")
    assert status == 0
    assert "created 3 run(s) (param_source backfill), queued" in out
    assert [m["execution_id"] for m in cli.messages()] == sorted(
        run["id"] for run in cli.json("runs", "--cron-id", str(paused["id"]))
    )
    again = cli.json("cron", "backfill", "paris", "--start", start, "--end", end, "--apply")
    assert again["created"] == 0
    assert all(slot["existed"] for slot in again["slots"])
    assert cli.refused("cron", "backfill", "paris", "--start", end, "--end", start) == (
        "jobu: validation_error: end is before start"
    )
    cli.sqs.purge_queue(QueueUrl=cli.work_queue_url)

    # queue_one: the backfilled runs are active, so a run now waits behind them, and is cancelled
    status, out, _ = cli("cron", "run", "paris")
    assert "waiting behind the job's active run (overlap_policy queue_one)" in out.splitlines()[0]
    waiting = cli.json("runs", "--status", "waiting")
    assert len(waiting) == 1
    assert cli.messages() == []
    status, out, _ = cli("runs", "cancel", str(waiting[0]["id"]))
    assert (status, out) == (0, f"run {waiting[0]['id']} is CANCELLED: it will not start\n")
    assert cli.json("runs", "show", str(waiting[0]["id"]))["status"] == "CANCELLED"
    assert cli.refused("runs", "cancel", str(waiting[0]["id"])) == (
        f"jobu: invalid_state: run {waiting[0]['id']} is CANCELLED: only a run that has not ended can be "
        "cancelled"
    )


def seed_runs(cli: Cli) -> dict[str, int]:
    """A run of cron job "hourly" started now by hand (FAILED), sample events an hour apart from T0
    (SUCCESS, PENDING), a sample1 event (TIMEOUT), and a run that made a child on success at T0+4h."""
    assert cli("cron", "add", "--name", "hourly", "--cron", "0 * * * *", "--handler", "sample")[0] == 0
    cron_run = cli.json("cron", "run", "hourly")["run"]
    cli.sqs.purge_queue(QueueUrl=cli.work_queue_url)  # the tests count the messages they cause

    async def seed(store: JobStore) -> dict[str, int]:
        ids = {"job": cron_run["job_id"], "cron": cron_run["id"]}
        await end_run(store, ids["cron"], ExecutionStatus.FAILED, at=datetime.now(UTC))
        for hour, (name, status, handler) in enumerate(
            [("success", ExecutionStatus.SUCCESS, "sample"), ("pending", None, "sample"),
             ("timeout", ExecutionStatus.TIMEOUT, "sample1")], start=1,
        ):  # fmt: skip
            at = T0 + timedelta(hours=hour)
            (run,) = await store.runs.insert_events([event_run(hour, handler)], now=at)
            if status is not None:
                await end_run(store, run.id, status, at=at)
            ids[name] = run.id
        at = T0 + timedelta(hours=4)
        (parent,) = await store.runs.insert_events([event_run(4)], now=at)
        child = await end_with_child(store, parent.id, at=at, result={"rows": 3})
        return ids | {"parent": parent.id, "child": child.id}

    return cli.with_store(seed)


def listed(cli: Cli, *flags: str) -> list[int]:
    return [run["id"] for run in cli.json("runs", *flags)]


def test_the_history_filters_by_cron_job_status_handler_and_dates(cli: Cli) -> None:
    ids = seed_runs(cli)
    newest_first = [ids["child"], ids["parent"], ids["timeout"], ids["pending"], ids["success"], ids["cron"]]
    assert listed(cli) == listed(cli, "list") == newest_first
    assert (
        listed(cli, "--cron-id", str(ids["job"])) == listed(cli, "--job-id", str(ids["job"])) == [ids["cron"]]
    )
    assert listed(cli, "--status", "failed") == [ids["cron"]]
    assert listed(cli, "--handler", "sample1", "--status", "TIMEOUT") == [ids["timeout"]]
    assert listed(cli, "--from", "2026-11-01T13:30:00", "--to", "2026-11-01T14:00:00Z") == [ids["pending"]]
    assert listed(cli, "--to", "2026-11-01T13:00:00+00:00", "--handler", "sample") == [ids["success"]]
    assert listed(cli, "--from", "1h", "--handler", "sample") == [ids["cron"]]  # started by hand just now
    assert listed(cli, "--size", "2", "--page", "2", "--from", "2026-11-01T00:00:00Z") == newest_first[2:4]
    status, out, _ = cli("runs", "--limit", "2")
    assert status == 0
    header, _, *rows, total = out.splitlines()
    assert header.split() == ["id", "status", "handler", "source", "job", "retries", "scheduled", "started",
                              "finished", "error"]  # fmt: skip
    assert [row.split()[:5] for row in rows] == [
        [str(ids["child"]), "PENDING", "sample1", "event", "-"],
        [str(ids["parent"]), "SUCCESS", "sample", "event", "-"],
    ]
    assert total == "6 runs (page 1 of 3; --page 2 for more)"
    assert cli.refused("runs", "--from", "2026-11-02", "--to", "2026-11-01") == (
        "jobu: validation_error: from_date is after to_date"
    )


def test_a_runs_detail_shows_params_provenance_parent_and_children(cli: Cli) -> None:
    ids = seed_runs(cli)
    status, out, _ = cli("runs", "show", str(ids["parent"]))
    assert status == 0
    assert "status           SUCCESS" in out
    assert '{"rows": 3}' in out
    assert "  name  event 4  event" in out  # key, value, where it came from
    assert "parent: -" in out
    assert "children (1):\n  id  status" in out
    child = cli.json("runs", "show", str(ids["child"]))
    assert (child["parent"]["id"], child["parent"]["status"], child["children"]) == (
        ids["parent"],
        "SUCCESS",
        [],
    )
    assert cli.refused("runs", "show", "999999") == "jobu: not_found: no run with id 999999"


def test_retry_bulk_retry_and_delete(cli: Cli) -> None:
    ids = seed_runs(cli)
    assert cli.refused("runs", "retry", str(ids["success"])) == (
        f"jobu: invalid_state: run {ids['success']} is SUCCESS: only FAILED or TIMEOUT runs are retried"
    )
    status, out, _ = cli("runs", "retry", str(ids["cron"]))
    assert (status, out) == (0, f"run {ids['cron']} is PENDING again (attempt 2), queued\n")
    assert cli.messages() == [{"execution_id": ids["cron"], "attempt": 1}]

    status, out, _ = cli("runs", "bulk-retry", "--dry-run")
    assert (status, out) == (
        0,
        f"1 FAILED or TIMEOUT run(s) match; a retry takes all of them:\n  {ids['timeout']}\n",
    )
    assert cli.json("runs", "bulk-retry", "--dry-run", "--handler", "sample") == {
        "dry_run": True, "matched": 0, "ids": [], "queued": [],
    }  # fmt: skip
    # not asked (stdin is not a terminal here) and no --yes: nothing is retried
    status, out, err = cli("runs", "bulk-retry", "--status", "TIMEOUT")
    assert status == 2
    assert out.startswith("1 FAILED or TIMEOUT run(s) match")
    assert (
        err == "jobu: nothing retried: pass --yes to retry without being asked (or --dry-run to only look)\n"
    )
    assert cli.json("runs", "show", str(ids["timeout"]))["status"] == "TIMEOUT"
    retried = cli.json("runs", "bulk-retry", "--status", "TIMEOUT", "--yes")
    assert (retried["dry_run"], retried["ids"], retried["queued"]) == (
        False,
        [ids["timeout"]],
        [ids["timeout"]],
    )
    assert cli.json("runs", "show", str(ids["timeout"]))["status"] == "PENDING"

    assert cli.refused("runs", "delete", str(ids["pending"])).startswith(
        f"jobu: invalid_state: run {ids['pending']} is PENDING"
    )
    status, out, _ = cli("runs", "delete", str(ids["parent"]))
    assert (status, out) == (0, f"deleted run {ids['parent']}\n")
    assert (
        cli.refused("runs", "delete", str(ids["parent"]))
        == f"jobu: not_found: no run with id {ids['parent']}"
    )
    assert cli.json("runs", "show", str(ids["child"]))["parent"] is None


def test_rejected_records_are_shown_replayed_and_discarded(cli: Cli) -> None:
    async def reject(store: JobStore) -> None:
        queue = WorkQueue(sqs_client=cli.sqs, queue_url=cli.work_queue_url)
        for offset, message in [(5, {"handler_name": "sample", "params": {"name": "ev"}, "job_id": 1}),
                                (6, {"params": {}})]:  # fmt: skip
            await dispatch_event(
                store, queue, kafka_event(offset, message), known_handlers=known_handler_names(), now=T0
            )

    cli.with_store(reject)
    status, out, _ = cli("runs", "rejected")
    assert status == 0
    assert "jobu-events:0:5" in out
    assert "no cron job with id 1" in out
    assert out.splitlines()[-1] == "2 rejected records (page 1 of 1)"
    newest, oldest = cli.json("runs", "rejected", "list")
    assert (newest["source_offset"], oldest["source_offset"]) == (6, 5)
    status, out, _ = cli("runs", "rejected", "show", str(oldest["id"]))
    assert out.splitlines()[-1] == '{"handler_name": "sample", "params": {"name": "ev"}, "job_id": 1}'

    status, out, _ = cli("runs", "rejected", "replay", str(oldest["id"]))
    assert (status, out) == (1, f"rejected record {oldest['id']} was refused again: no cron job with id 1\n")
    assert cli("cron", "add", "--name", "one", "--cron", "0 1 * * *", "--handler", "sample")[0] == 0
    replayed = cli.json("runs", "rejected", "replay", str(oldest["id"]))
    assert (replayed["outcome"], replayed["run"]["source_offset"]) == ("dispatched", 5)
    assert cli.messages() == [{"execution_id": replayed["run"]["id"], "attempt": 0}]
    status, out, _ = cli("runs", "rejected", "discard", str(newest["id"]))
    assert (status, out) == (0, f"discarded rejected record {newest['id']}\n")
    assert cli.json("runs", "rejected") == []
    assert cli.refused("runs", "rejected", "show", str(newest["id"])) == (
        f"jobu: not_found: no rejected record with id {newest['id']}"
    )


def test_the_dead_letter_queue_is_measured_and_peeked(cli: Cli) -> None:
    ids = seed_runs(cli)
    cli.sqs.send_message(
        QueueUrl=cli.dead_letter_url, MessageBody=json.dumps({"execution_id": ids["cron"], "attempt": 0})
    )
    cli.sqs.send_message(QueueUrl=cli.dead_letter_url, MessageBody="not a work message")
    status, out, _ = cli("dlq")
    assert (status, out) == (0, "dead-letter queue of pool default: 2 visible, 0 in flight, 0 delayed\n")
    letters = sorted(cli.json("dlq", "peek"), key=lambda letter: letter["body"])
    assert [(letter["execution_id"], letter["run_status"]) for letter in letters] == [
        (None, None),
        (ids["cron"], "FAILED"),
    ]
    assert cli.json("dead-letters", "depth")["visible"] == 2  # a peek leaves them there


def test_a_database_that_does_not_answer_is_a_failure_not_a_refusal(
    cli: Cli, request: pytest.FixtureRequest
) -> None:
    backend = request.node.callspec.params["database_url"]
    cli.capsys.readouterr()
    status = main(["runs", "--database-url", UNREACHABLE[backend]])
    err = cli.capsys.readouterr().err
    assert len(err.splitlines()) == 1
    if backend == "sqlite":  # a file that is not there: said so, with what creates one
        assert status == 2
        assert err.startswith("jobu: no database at /nonexistent-folder/jobu.db: start the local runtime")
        return
    assert status == 1
    assert err.startswith("jobu: database_unavailable: ")


def test_runs_list_by_tag(cli: Cli) -> None:
    async def dispatch(store: JobStore) -> None:
        queue = WorkQueue(sqs_client=cli.sqs, queue_url=cli.work_queue_url)
        for offset, tags in [(1, ["tenant-a", "billing"]), (2, ["tenant-b", "billing"]), (3, None)]:
            message = {"handler_name": "sample", "params": {"name": "tagged"}, "tags": tags}
            await dispatch_event(
                store, queue, kafka_event(offset, message), known_handlers=known_handler_names(), now=T0
            )

    cli.with_store(dispatch)
    assert [run["tags"] for run in cli.json("runs", "list", "--tag", "billing")] == [
        ["tenant-b", "billing"],
        ["tenant-a", "billing"],
    ]
    assert [run["tags"] for run in cli.json("runs", "list", "--tag", "billing", "--tag", "tenant-a")] == [
        ["tenant-a", "billing"]
    ]
    assert cli.json("runs", "list", "--tag", "nobody") == []
    first = cli.json("runs", "list", "--tag", "tenant-a")[0]["id"]
    status, out, _ = cli("runs", "show", str(first))
    assert status == 0
    assert 'tags             ["tenant-a", "billing"]' in out
    assert "priority         normal" in out


def test_cron_add_and_update_with_what_its_runs_carry(cli: Cli) -> None:
    status, _, err = cli("cron", "add", "--name", "report", "--cron", "0 * * * *", "--handler", "sample",
                         "--priority", "low", "--ttl", "1800", "--tag", "reports", "--tag", "tenant-a",
                         "--concurrency-key", "tenant-a")  # fmt: skip
    assert status == 0, err
    shown = cli.json("cron", "show", "report")
    assert (shown["priority"], shown["ttl_seconds"], shown["tags"], shown["concurrency_key"]) == (
        "low",
        1800,
        ["reports", "tenant-a"],
        "tenant-a",
    )
    status, out, _ = cli("cron", "show", "report")
    assert "ttl_seconds      1800" in out
    changed = cli.json("cron", "update", "report", "--priority", "high", "--tag", "reports")
    assert (changed["priority"], changed["tags"], changed["ttl_seconds"]) == ("high", ["reports"], 1800)
    assert cli.refused("cron", "update", "report", "--ttl", "0").startswith(
        "jobu: validation_error: ttl_seconds:"
    )
