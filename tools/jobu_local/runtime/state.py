"""Where a running `jobu local up` tells the other commands how to reach what it started.

The state file (.jobu/runtime.json by default; JOBU_LOCAL_STATE_DIR moves it) holds the emulator's
endpoint, the Kafka bootstrap servers, the database URL, the control port (for `tick`) and the
process ids of everything the runtime started. It exists only while the runtime runs.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

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

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / STATE_FILE
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(self), indent=2) + "\n")
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
    def remove(directory: Path) -> None:
        (directory / STATE_FILE).unlink(missing_ok=True)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
