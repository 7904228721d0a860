"""Where a running `jobu local up` tells the other commands how to reach what it started.

The state file (.jobu/runtime.json by default; JOBU_LOCAL_STATE_DIR moves it) holds the emulator's
endpoint, the Kafka bootstrap servers, the database URL, the control port (for `tick`), the process
ids of everything the runtime started and its token (what its HTTP API and its dashboard ask for).
It exists only while the runtime runs, and only its owner can read it: the folder is 0700 and the
file 0600, whatever they were before.

One runtime per state folder: the runtime holds an exclusive lock on `runtime.lock` there from
before it starts anything until it has stopped everything, and only the holder writes or removes
the state file. A second `jobu local up` on the folder is refused, and touches nothing.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jobu_local.aws.loopback import is_loopback_url
from jobu_local.errors import JobuToolError

# The checkout this package runs from (tools/jobu_local/runtime/state.py), when it is one.
CHECKOUT = Path(__file__).resolve().parents[3]


def project_root() -> Path:
    """The jobu-serverless checkout to work on: the current folder if it holds template.yaml, else
    the checkout this package runs from (a `pip install .` of it runs from site-packages: then the
    current folder)."""
    here = Path.cwd()
    if (here / "template.yaml").exists() or not (CHECKOUT / "template.yaml").exists():
        return here
    return CHECKOUT


STATE_DIR_VARIABLE = "JOBU_LOCAL_STATE_DIR"
STATE_FILE = "runtime.json"
LOCK_FILE = "runtime.lock"
PRIVATE_DIRECTORY = 0o700
PRIVATE_FILE = 0o600


class StateError(JobuToolError):
    """The state folder cannot be used (another runtime holds it, another user owns it)."""


def state_dir(explicit: Path | None = None) -> Path:
    if explicit is not None:
        return explicit
    configured = os.environ.get(STATE_DIR_VARIABLE)
    return Path(configured) if configured else project_root() / ".jobu"


def default_database_url(directory: Path) -> str:
    return f"sqlite:///{(directory / 'jobu.db').resolve()}"


@dataclass
class RuntimeState:
    pid: int
    control_port: int
    template: str
    region: str
    aws_endpoint_url: str | None
    aws_emulator: str
    kafka_bootstrap_servers: str
    database_url: str
    functions: dict[str, dict[str, Any]] = field(default_factory=dict)
    queues: dict[str, str] = field(default_factory=dict)
    services: dict[str, int] = field(default_factory=dict)
    topics: list[str] = field(default_factory=list)
    http_api_url: str | None = None
    dashboard_url: str | None = None  # with its token: whoever reads this file may use the dashboard
    token: str = ""  # `Authorization: Bearer` for the HTTP API; the dashboard's too
    viewer_token: str = ""  # the HTTP API's read-only token: GET requests only (the viewer policy's)

    def write(self, directory: Path) -> Path:
        private_directory(directory)
        path = directory / STATE_FILE
        temporary = path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, PRIVATE_FILE)
        with os.fdopen(descriptor, "w") as file:
            os.fchmod(file.fileno(), PRIVATE_FILE)  # an older file of this name keeps its mode otherwise
            file.write(json.dumps(asdict(self), indent=2) + "\n")
        temporary.replace(path)
        return path

    @classmethod
    def read(cls, directory: Path) -> RuntimeState | None:
        """The state of a runtime that is still running, or None."""
        path = directory / STATE_FILE
        try:
            state = cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None
        return state if pid_alive(state.pid) else None

    @staticmethod
    def remove(directory: Path, pid: int) -> None:
        """The state file, if it is the one runtime `pid` wrote."""
        path = directory / STATE_FILE
        try:
            written_by = json.loads(path.read_text()).get("pid")
        except (OSError, ValueError, AttributeError):
            return
        if written_by == pid:
            path.unlink(missing_ok=True)


def private_directory(directory: Path) -> None:
    """`directory`, created if missing, readable by its owner only (0700, also when it existed)."""
    directory.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIRECTORY)
    if directory.stat().st_uid != os.getuid():
        raise StateError(
            f"the state folder {directory} belongs to another user: pass --state-dir with a folder of yours"
        )
    directory.chmod(PRIVATE_DIRECTORY)


class StateLock:
    """The exclusive hold of a state folder by one runtime (an flock, released when the process ends
    however it ends, so a crashed runtime never blocks the next one)."""

    def __init__(self, descriptor: int) -> None:
        self._descriptor: int | None = descriptor

    @classmethod
    def acquire(cls, directory: Path) -> StateLock:
        private_directory(directory)
        descriptor = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, PRIVATE_FILE)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            running = RuntimeState.read(directory)
            holder = f"pid {running.pid}" if running is not None else "starting"
            raise StateError(
                f"a local runtime is already running ({holder}, state in {directory}): stop it first, "
                "or pass --state-dir for another one"
            ) from None
        return cls(descriptor)

    def release(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)  # closing it releases the lock
            self._descriptor = None


def local_api_token(url: str, directory: Path | None = None) -> str | None:
    """The token of the running `jobu local up` whose HTTP API `url` is, else None.

    Only the runtime's own address (scheme, host and port as it printed them) gets the token: a
    token sent to another port, or to a name that could resolve elsewhere, would be given away."""
    if not is_loopback_url(url):
        return None
    state = RuntimeState.read(state_dir(directory))
    if state is None or not state.token or state.http_api_url is None:
        return None
    given, served = urlsplit(url), urlsplit(state.http_api_url)
    if (given.scheme, given.netloc) != (served.scheme, served.netloc):
        return None
    return state.token


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
