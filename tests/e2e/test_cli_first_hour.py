"""The first hour with `jobu`, through the real `jobu` process: what a new user met, and now meets.

Errors are one line (`jobu: ...`), output meant for programs (--json) is only that, stored text
reaches the terminal escaped, the dead-letter queue is redriven on the embedded emulator, and the
messages say what to do.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from jobu.models import ExecutionStatus
from jobu.store import open_store
from jobu_local.aws.cloudwatch.reader import LogLine, LogReader
from jobu_local.aws.endpoint import moto_server
from jobu_local.aws.processes import Service, free_port, http_ok
from jobu_local.runtime.state import STATE_FILE, StateLock
from tests.conftest import run_jobu
from tests.e2e.conftest import StartRuntime, wait_for
from tests.integration.test_admin_api import end_run, event_run


def one_line_error(result: object) -> str:
    """The one line a failed `jobu` printed on stderr, with nothing on stdout."""
    assert result.returncode != 0, result.stdout  # type: ignore[attr-defined]
    error: str = result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in error
    assert len(error.splitlines()) == 1, error
    assert error.startswith("jobu: ")
    return error.strip()


# --- start errors ------------------------------------------------------------------------------


def test_a_second_runtime_is_refused_in_one_line_and_leaves_the_first_ones_state(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    running = {  # a runtime that is running: this very process
        "pid": os.getpid(), "control_port": 1, "template": "template.yaml", "region": "us-east-1",
        "aws_endpoint_url": None, "aws_emulator": "moto", "kafka_bootstrap_servers": "127.0.0.1:1",
        "database_url": f"sqlite:///{tmp_path}/j.db",
    }  # fmt: skip
    held = StateLock.acquire(state)  # held as the running runtime holds it
    try:
        (state / STATE_FILE).write_text(json.dumps(running))
        result = run_jobu("local", "up", "--no-dashboard", "--http-port", "0", state_dir=state)
    finally:
        held.release()
    assert one_line_error(result) == (
        f"jobu: a local runtime is already running (pid {os.getpid()}, state in {state}): stop it first, "
        "or pass --state-dir for another one"
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert json.loads((state / STATE_FILE).read_text()) == running  # still the first one's


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_jobu(
            "local", "up", "--quiet", "--no-schedule", "--no-dashboard", "--http-port", str(port),
            "--database-url", f"sqlite:///{tmp_path}/j.db", state_dir=tmp_path / "state",
        )  # fmt: skip
    assert one_line_error(result) == (
        f"jobu: cannot serve the HTTP API on 127.0.0.1:{port} (Address already in use): "
        "pass --http-port N (0 for any free port)"
    )
    assert result.returncode == 1
    assert not (tmp_path / "state" / STATE_FILE).exists()


# --- stored text reaches the terminal escaped ----------------------------------------------------

OSC52 = "\x1b]52;c;ZWNobyBvd25lZA==\x07"  # writes "echo owned" to the terminal's clipboard
ERASE_LINE = "\r\x1b[2K"  # back to the start of the line, and erase it
BIDI = "\u202e"  # what follows is shown right to left


def seed_hostile_record(url: str) -> int:
    async def seed() -> int:
        store = await open_store(url)
        try:
            await store.migrate()
            row = {
                "source_topic": "jobu-events", "source_partition": 1, "source_offset": 5,
                "record_key": "jobu-events:1:5", "raw_value": f'{{"handler_name": "x{OSC52}"}}{ERASE_LINE}ok',
                "raw_encoding": "utf-8", "reason": f"unknown handler 'x{OSC52}'",
            }  # fmt: skip
            await store.rejected_records.insert([row], now=datetime.now(UTC))
            (record,) = await store.rejected_records.list_recent(limit=1)
            return record.id
        finally:
            await store.close()

    return asyncio.run(seed())


def test_stored_control_sequences_reach_the_terminal_escaped_and_json_exact(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/j.db"
    record_id = seed_hostile_record(url)
    state = tmp_path / "state"

    shown = run_jobu("runs", "rejected", "show", str(record_id), "--database-url", url, state_dir=state)
    listed = run_jobu("runs", "rejected", "--database-url", url, state_dir=state)
    description = f"nightly{BIDI}cod.exe{ERASE_LINE}"
    added = run_jobu("cron", "add", "--name", "n", "--cron", "0 2 * * *", "--handler", "sample",
                     "--description", description, "--database-url", url, state_dir=state)  # fmt: skip
    job = run_jobu("cron", "show", "n", "--database-url", url, state_dir=state)
    missing = run_jobu("cron", "show", f"n{OSC52}", "--database-url", url, state_dir=state)
    for result in (shown, listed, added, job, missing):
        for control in ("\x1b", "\x07", "\r", BIDI):
            assert control not in result.stdout + result.stderr
    assert shown.stdout.splitlines()[-1] == (
        '{"handler_name": "x\\x1b]52;c;ZWNobyBvd25lZA==\\x07"}\\x0d\\x1b[2Kok'
    )
    assert "unknown handler 'x\\x1b]52;c;ZWNobyBvd25lZA==\\x07'" in listed.stdout
    assert "description      nightly\\u202ecod.exe\\x0d\\x1b[2K" in job.stdout
    assert missing.returncode == 2
    assert "no cron job named" in missing.stderr

    # --json is for programs: the stored text, exactly
    exact = run_jobu(
        "runs", "rejected", "show", str(record_id), "--json", "--database-url", url, state_dir=state
    )
    assert json.loads(exact.stdout)["raw_value"] == f'{{"handler_name": "x{OSC52}"}}{ERASE_LINE}ok'
    as_json = run_jobu("cron", "show", "n", "--json", "--database-url", url, state_dir=state)
    assert json.loads(as_json.stdout)["description"] == description


# --- the dead-letter queue on the embedded emulator ----------------------------------------------


@dataclass
class Queues:
    endpoint: str
    sqs: Any
    work: str
    dead_letters: str

    @property
    def env(self) -> dict[str, str]:
        """What points `jobu` on a database at these queues."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x",
            "AWS_SECRET_ACCESS_KEY": "x", "JOBU_WORK_QUEUE_URL": self.work,
            "JOBU_DEAD_LETTER_QUEUE_URL": self.dead_letters,
        }  # fmt: skip

    def depth(self, url: str) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


async def started_queues(service: Service, port: int) -> Queues:
    """A work queue and its dead-letter queue, as template.yaml makes them, on an emulator."""
    await service.start()
    endpoint = f"http://127.0.0.1:{port}"
    sqs = boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    dead_letters = sqs.create_queue(QueueName="jobu-work-dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dead_letters, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 3})
    work = sqs.create_queue(QueueName="jobu-work", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    return Queues(endpoint, sqs, work, dead_letters)


@pytest.fixture
async def embedded_queues() -> AsyncIterator[Queues]:
    """The queues on the embedded emulator `jobu local up` starts (moto server, as jobu runs it)."""
    port = free_port()
    service = moto_server(port)
    yield await started_queues(service, port)
    service.stop()


@pytest.fixture
async def plain_moto_queues() -> AsyncIterator[Queues]:
    """The queues on moto server as moto ships it: no message move tasks (a 500 HTML page)."""
    port = free_port()
    service = Service(
        name="moto server (plain)",
        command=[sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        ready=lambda: http_ok(f"http://127.0.0.1:{port}/moto-api/"),
    )
    yield await started_queues(service, port)
    service.stop()


def test_the_dead_letter_queue_is_redriven_on_the_embedded_emulator(
    embedded_queues: Queues, tmp_path: Path
) -> None:
    queues, url, state = embedded_queues, f"sqlite:///{tmp_path}/j.db", tmp_path / "state"
    for run_id in (1, 2, 3):
        queues.sqs.send_message(
            QueueUrl=queues.dead_letters, MessageBody=json.dumps({"execution_id": run_id, "attempt": 0})
        )
    redrive = run_jobu("dlq", "redrive", "--database-url", url, env=queues.env, state_dir=state)
    assert redrive.returncode == 0, redrive.stderr
    assert redrive.stdout.endswith(
        ", 3 message(s) to move: back to pool default's work queue (see `jobu dlq redrives --pool default`)\n"
    )
    deadline = time.monotonic() + 30
    while queues.depth(queues.work) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (queues.depth(queues.work), queues.depth(queues.dead_letters)) == (3, 0)
    received = queues.sqs.receive_message(QueueUrl=queues.work, MaxNumberOfMessages=10)["Messages"]
    assert sorted(json.loads(message["Body"])["execution_id"] for message in received) == [1, 2, 3]
    listed = run_jobu("dlq", "redrives", "--json", "--database-url", url, env=queues.env, state_dir=state)
    ((task),) = json.loads(listed.stdout)
    assert (task["status"], task["moved"], task["to_move"], task["task_handle"]) == ("COMPLETED", 3, 3, None)


def test_an_endpoint_without_message_move_tasks_is_said_in_one_line_never_as_html(
    plain_moto_queues: Queues, tmp_path: Path
) -> None:
    queues, url = plain_moto_queues, f"sqlite:///{tmp_path}/j.db"
    result = run_jobu("dlq", "redrive", "--database-url", url, env=queues.env, state_dir=tmp_path / "state")
    assert one_line_error(result) == (
        "jobu: queue_error: SQS list_message_move_tasks on the dead-letter queue of pool 'default' failed: "
        "the endpoint answered HTTP 500 without an SQS error: does it implement this action?"
    )
    assert result.returncode == 1


# --- output for programs, and what the messages say -----------------------------------------------


def seed_runs(url: str) -> dict[str, int]:
    """A FAILED run and a PENDING one from Kafka records, and a rejected record whose handler exists
    now (a replay makes it a run)."""

    async def seed() -> dict[str, int]:
        store = await open_store(url)
        try:
            now = datetime.now(UTC)
            failed, pending = await store.runs.insert_events([event_run(9), event_run(10)], now=now)
            await end_run(store, failed.id, ExecutionStatus.FAILED, at=now)
            late = {"handler_name": "sample", "params": {"name": "late"}, "job_id": None}
            row = {
                "source_topic": "jobu-events", "source_partition": 1, "source_offset": 5,
                "record_key": "jobu-events:1:5", "raw_encoding": "utf-8", "raw_value": json.dumps(late),
                "reason": "unknown handler 'sample'",
            }  # fmt: skip
            await store.rejected_records.insert([row], now=now)
            (record,) = await store.rejected_records.list_recent(limit=1)
            return {"failed": failed.id, "pending": pending.id, "rejected": record.id}
        finally:
            await store.close()

    return asyncio.run(seed())


def test_every_json_command_prints_json_only(embedded_queues: Queues, tmp_path: Path) -> None:
    url, state = f"sqlite:///{tmp_path}/j.db", tmp_path / "state"

    def jobu_json(*argv: str) -> Any:
        result = run_jobu(*argv, "--json", "--database-url", url, env=embedded_queues.env, state_dir=state)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)  # nothing but the JSON document

    job = jobu_json("cron", "add", "--name", "n", "--cron", "0 2 * * *", "--handler", "sample")
    ids = seed_runs(url)
    replayed = jobu_json("runs", "rejected", "replay", str(ids["rejected"]))
    assert (replayed["outcome"], replayed["run"]["source_offset"]) == ("dispatched", 5)
    for argv in [
        ("cron", "list"), ("cron", "show", "n"), ("cron", "update", "n", "--description", "d"),
        ("cron", "disable", "n"), ("cron", "enable", "n"), ("cron", "toggle", "n"), ("cron", "toggle", "n"),
        ("cron", "pause", "n", "--until", "1h"), ("cron", "resume", "n"), ("cron", "run", "n"),
        ("cron", "backfill", "n", "--start", "2d", "--end", "1h"), ("cron", "preview", "0 2 * * *"),
        ("runs",), ("runs", "show", str(ids["failed"])), ("runs", "retry", str(ids["failed"])),
        ("runs", "cancel", str(ids["pending"])), ("runs", "bulk-retry", "--dry-run"),
        ("runs", "bulk-retry", "--yes"), ("runs", "rejected"), ("dlq",), ("dlq", "peek"), ("dlq", "redrive"),
        ("dlq", "redrives"), ("health",),
        ("runs", "delete", str(ids["pending"])), ("cron", "delete", "n"),
    ]:  # fmt: skip
        jobu_json(*argv)
    assert jobu_json("runs", "show", str(ids["failed"]))["status"] == "PENDING"  # retried
    assert jobu_json("cron", "list") == []
    assert job["name"] == "n"


def test_a_run_queued_by_hand_says_when(embedded_queues: Queues, tmp_path: Path) -> None:
    url, state, env = f"sqlite:///{tmp_path}/j.db", tmp_path / "state", embedded_queues.env
    assert run_jobu("cron", "add", "--name", "n", "--cron", "0 2 * * *", "--handler", "sample",
                    "--database-url", url, env=env, state_dir=state).returncode == 0  # fmt: skip
    ran = json.loads(
        run_jobu("cron", "run", "n", "--json", "--database-url", url, env=env, state_dir=state).stdout
    )
    assert ran["queued"] is True
    assert ran["run"]["queued_at"] is not None
    assert embedded_queues.depth(embedded_queues.work) == 1


def test_one_timeout_ceiling(tmp_path: Path) -> None:
    url, state = f"sqlite:///{tmp_path}/j.db", tmp_path / "state"
    add = ("cron", "add", "--name", "n", "--cron", "0 2 * * *", "--handler", "sample", "--database-url", url)
    for seconds in ("896", "901"):
        assert one_line_error(run_jobu(*add, "--timeout", seconds, state_dir=state)) == (
            "jobu: validation_error: timeout_seconds: Input should be less than or equal to 895"
        )
    # a worker with a shorter Timeout allows less, and says the same way why
    assert one_line_error(run_jobu(*add, "--timeout", "296", "--worker-timeout", "300", state_dir=state)) == (
        "jobu: invalid_cron_job: timeout_seconds=296 cannot be honoured: the worker of pool 'default' runs "
        "at most 300s, so a job may take at most 295s"
    )


def test_pause_times_and_kafka_coordinates_read_one_way(tmp_path: Path) -> None:
    url, state = f"sqlite:///{tmp_path}/j.db", tmp_path / "state"
    assert run_jobu("cron", "add", "--name", "n", "--cron", "0 2 * * *", "--handler", "sample",
                    "--database-url", url, state_dir=state).returncode == 0  # fmt: skip
    ids = seed_runs(url)
    paused = run_jobu("cron", "pause", "n", "--until", "2h", "--database-url", url, state_dir=state)
    assert re.fullmatch(
        r"paused cron job 1 \(n\) until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC; catch-up policy coalesce\n",
        paused.stdout,
    )
    listed = run_jobu("cron", "list", "--database-url", url, state_dir=state).stdout
    assert re.search(r"  paused until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  ", listed)
    # a Kafka record's place, written as its runs and rejected records are keyed
    shown = run_jobu("runs", "show", str(ids["failed"]), "--database-url", url, state_dir=state).stdout
    assert "kafka record     jobu-events:0:9\n" in shown
    rejected = run_jobu("runs", "rejected", "--database-url", url, state_dir=state).stdout
    assert f"{ids['rejected']}   jobu-events:1:5  " in rejected


def test_logs_of_an_unknown_function_names_those_it_knows(tmp_path: Path) -> None:
    assert one_line_error(run_jobu("logs", "cron", state_dir=tmp_path / "state")) == (
        "jobu: no function 'cron' in template.yaml: did you mean 'cron-dispatcher'? name one of admin-api, "
        "cron-dispatcher, pipeline-worker, queue-dispatcher, worker (or a logical id such as "
        "CronDispatcherFunction)"
    )


def test_runs_with_nothing_running_names_the_database_and_what_creates_it(tmp_path: Path) -> None:
    state = tmp_path / "state"
    result = run_jobu("runs", state_dir=state, cwd=tmp_path)
    assert one_line_error(result) == (
        f"jobu: no database at {state / 'jobu.db'}: start the local runtime (`jobu local up`, or `make "
        "local`), which creates it, or name yours with --database-url or JOBU_DATABASE_URL (or an admin API "
        "with --api-url)"
    )


async def test_the_admin_functions_log_carries_no_powertools_warning(
    start_runtime: StartRuntime, sqlite_url: str
) -> None:
    """An admin request records no metric: Powertools' UserWarning about it was a line of the admin
    function's log (and of `jobu local up`'s output) for every request."""
    runtime = await start_runtime(sqlite_url, http_port=0, dashboard_port=0)
    assert runtime.http_api is not None
    assert runtime.aws is not None

    def status(url: str) -> int:
        asked = urllib.request.Request(url, headers={"Authorization": f"Bearer {runtime.token}"})
        with urllib.request.urlopen(asked, timeout=30) as answer:
            return int(answer.status)

    for path in ("/health", "/api/crons", "/api/handlers"):  # the runtime serves on this loop
        assert await asyncio.to_thread(status, runtime.http_api.url + path) == 200
    group = runtime.functions["AdminApiFunction"].config.log_group
    reader = LogReader(runtime.aws, [group])

    async def requests_logged() -> list[LogLine]:
        lines = await asyncio.to_thread(reader.read, 0)
        return lines if sum('"admin request"' in line.message for line in lines) == 3 else []

    # the lines reach the emulator's log group when the function's log shipper flushes: on two busy
    # cores shared with another test process that has taken over 30 s (the poll ends at the third)
    lines = await wait_for(requests_logged, within=90, what="the admin function's three request lines")
    assert [line.message for line in lines if "Warning" in line.message] == []
