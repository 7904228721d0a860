"""The attacks of issue 9, carried out through the real entry points (tests/support/harness.py).

An attacker is whoever can produce to the Kafka topic: each attack is a Kafka record given to
the queue dispatcher, whose runs the worker then takes from the (moto) SQS queue. The
harness's operator configuration (tests.conftest.data_access_environ) is a data root under the
test's tmp_path, the test buckets, and the `sales` table of the job store's database.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from jobu.listings import RejectedEvent
from jobu.models import Execution
from tests.integration import conftest as integration
from tests.support.harness import Harness

# The integration tier's fixtures: each backend in turn, and the harness on it.
database_url = integration.database_url
harness = integration.harness
admin = integration.admin

TOPIC = "jobu-events"
_OFFSETS = count(1000)


def msk_event(*messages: dict[str, Any]) -> dict[str, Any]:
    """An MSK event (the shape of events/queue_dispatcher_msk.json) carrying `messages`."""
    records = [
        {
            "topic": TOPIC,
            "partition": 0,
            "offset": next(_OFFSETS),
            "timestamp": 1795341600100,
            "timestampType": "CREATE_TIME",
            "key": None,
            "value": base64.b64encode(json.dumps(message).encode()).decode(),
            "headers": [],
        }
        for message in messages
    ]
    return {
        "eventSource": "aws:kafka",
        "eventSourceArn": "arn:aws:kafka:us-east-1:123456789012:cluster/jobu-cluster/751d2973-2",
        "bootstrapServers": "b-1.jobu-cluster.kafka.us-east-1.amazonaws.com:9098",
        "records": {f"{TOPIC}-0": records},
    }


def produce(harness: Harness, handler_name: str, params: dict[str, Any], job_id: int | None = None) -> None:
    """One record through the queue dispatcher, then every queued run through the worker."""
    harness.invoke_queue(msk_event({"handler_name": handler_name, "params": params, "job_id": job_id}))
    harness.drain_queue()


def only_run(harness: Harness) -> Execution:
    (run,) = harness.executions()
    return run


def rejected(harness: Harness) -> list[RejectedEvent]:
    return harness.with_store(lambda s: s.rejected_records.list_recent())  # type: ignore[no-any-return]


def data_root(harness: Harness) -> Path:
    return Path(os.environ["JOBU_DATA_ROOT"])


@pytest.fixture
def root(harness: Harness) -> Path:
    """The harness's data root, holding raw/sales.csv."""
    folder = data_root(harness)
    (folder / "raw").mkdir(parents=True)
    (folder / "raw/sales.csv").write_text("order_id,customer\n1,alice\n")
    return folder


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` and its bytes: "nothing was written" is this staying equal.
    Symlinks are listed by their target, never followed (that would read what they point at)."""
    return {
        str(p.relative_to(folder)): str(p.readlink()).encode() if p.is_symlink() else p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_symlink() or p.is_file()
    }


class Sentinel:
    """A file outside the data root whose last access time shows whether anyone read it.

    Under relatime (this machine's mounts) a read updates an access time older than a day; the
    fixture proves that on a twin file first, so "not read" is a claim that could fail.
    """

    CONTENT = "SECRET-CONTENT-a41f9 order_id,customer\n1,root\n"

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.CONTENT)
        self._age()

    def _age(self) -> None:
        stat = self.path.stat()
        os.utime(self.path, (time.time() - 3 * 86400, stat.st_mtime))
        self.atime = self.path.stat().st_atime

    def was_read(self) -> bool:
        return self.path.stat().st_atime != self.atime


@pytest.fixture
def sentinel(tmp_path: Path) -> Sentinel:
    twin = Sentinel(tmp_path / "outside" / "twin.csv")
    twin.path.read_text()
    assert twin.was_read(), "this file system does not record reads (noatime): the test could not fail"
    return Sentinel(tmp_path / "outside" / "secret.csv")


class Canary:
    """A TCP listener on loopback that counts the connections made to it. Hostile params point
    their URLs and hosts here: "nothing was reached" is `connections()` staying 0, whatever driver
    or library would have connected. Connections are accepted and closed at once (a client waiting
    for a server's greeting fails fast instead of hanging until its timeout)."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.setblocking(False)
        self.port: int = self._server.getsockname()[1]
        self._accepted = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="canary", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.wait(0.01):
            self._drain()

    def _drain(self) -> None:
        with self._lock:
            while True:
                try:
                    conn, _ = self._server.accept()
                except BlockingIOError:
                    return
                self._accepted += 1
                conn.close()

    def connections(self) -> int:
        """Every connection made so far, those the kernel holds for accept() included."""
        self._drain()
        return self._accepted

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._server.close()


@pytest.fixture
def canary() -> Iterator[Canary]:
    listener = Canary()
    yield listener
    listener.close()
