"""Shared fixtures: a fresh, empty database per test on the real servers of this machine.

The servers are started by scripts/services.sh (make test runs it); a server that does not
answer is an error here, never a skip.

The tests run beside a developer's `jobu local up`: for the whole session they hold the ports it
binds by default (a test that binds one fails, as it would while `jobu local up` runs) and use a
state folder of their own (no test sees, or stops, a runtime it did not start).
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncmy
import asyncpg
import boto3
import pytest
from moto import mock_aws

from jobu import constants
from jobu.access import DataAccess
from tests.support.http_recorder import Recorder

POSTGRES_ADMIN_URL = os.environ.get("JOBU_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MYSQL_HOST = os.environ.get("JOBU_TEST_MYSQL_HOST", "127.0.0.1")
MYSQL_PORT = int(os.environ.get("JOBU_TEST_MYSQL_PORT", "3306"))
MYSQL_USER = os.environ.get("JOBU_TEST_MYSQL_USER", "root")

REPO_ROOT = Path(__file__).resolve().parents[1]
# Every pool's worker Timeout, as the template's defaults would bound a cron job's timeout.
WORKER_TIMEOUTS = {"default": 900, "pipeline": 900}
EVENTS_DIR = REPO_ROOT / "events"
JOBU = Path(sys.executable).with_name("jobu")  # the console script `make` installs into .venv
# what a user's shell may hold that would point `jobu` elsewhere than a test says
TARGET_VARIABLES = ("AWS_ENDPOINT_URL", "JOBU_DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "JOBU_WORK_QUEUE_URL",
                    "JOBU_DEAD_LETTER_QUEUE_URL", "JOBU_LOCAL_STATE_DIR")  # fmt: skip


def run_jobu(
    *argv: str,
    state_dir: Path,
    env: dict[str, str] | None = None,
    cwd: Path = REPO_ROOT,
    timeout: float = 120.0,
) -> subprocess.CompletedProcess[str]:
    """The `jobu` command as a user runs it, with a state folder of its own (so a `jobu local up` on
    this machine is not found) and `env` added to the environment."""
    environment = {name: value for name, value in os.environ.items() if name not in TARGET_VARIABLES}
    environment |= {"JOBU_LOCAL_STATE_DIR": str(state_dir), **(env or {})}
    return subprocess.run(
        [str(JOBU), *argv],
        env=environment,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# The tiers, by folder (README: Tests and benchmarks): each test is marked with its folder's tier,
# so `-m unit` selects the same tests as tests/unit. The unit tier runs with sockets blocked
# (pytest-socket): it needs nothing running, and a test that reaches for the network fails there
# instead of passing on a machine where the service happens to be up. A unit test that serves on
# loopback says so (`pytest.mark.enable_socket`).
TIERS = {"unit": "unit", "integration": "integration", "security": "security", "e2e": "e2e"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    tests_dir = Path(__file__).parent
    ids: set[str] = set()
    for item in items:
        tier = TIERS.get(item.path.relative_to(tests_dir).parts[0])
        if tier is None:
            raise pytest.UsageError(f"{item.nodeid}: every test lives in a tier's folder: {', '.join(TIERS)}")
        item.add_marker(tier)
        if tier == "unit":
            item.add_marker(pytest.mark.disable_socket)
        _id_with_params(item)
        # xdist (`make test`) hands tests to its processes by id: of two with one id, one would run
        if item.nodeid in ids:
            raise pytest.UsageError(f"{item.nodeid}: two tests with one id")
        ids.add(item.nodeid)


def _id_with_params(item: pytest.Item) -> None:
    """schemathesis's tests (one per API operation) carry the operation in their name but, under
    pytest 9.2, not in their id: the id gets it, as a parametrized test's does."""
    name = item.name
    if name.endswith("]") and "[" in name and not item.nodeid.endswith("]"):
        item._id = dataclasses.replace(item._id, params=name[name.index("[") + 1 : -1])


def default_ports() -> list[int]:
    """The ports `jobu local up` binds unless told otherwise (each *_port option's default)."""
    from jobu_local.runtime.runtime import RuntimeOptions

    return sorted(
        field.default
        for field in dataclasses.fields(RuntimeOptions)
        if field.name.endswith("_port") and isinstance(field.default, int) and field.default > 0
    )


class DefaultPorts:
    """The default ports of `jobu local up`, bound (not listening: a connection is refused at once)
    by this session whenever they are free, so that a test that binds one fails here as it would
    beside a running runtime. A port something else holds (that runtime, another session) is held
    anyway, and taken by this session once it is free."""

    def __init__(self) -> None:
        self.ports = default_ports()
        self._held: dict[int, socket.socket] = {}

    def hold(self) -> None:
        for port in self.ports:
            if port in self._held:
                continue
            guard = socket.socket()
            try:
                guard.bind(("127.0.0.1", port))
            except OSError as error:
                guard.close()
                if error.errno != errno.EADDRINUSE:
                    raise
                continue
            self._held[port] = guard

    def release(self) -> None:
        for guard in self._held.values():
            guard.close()
        self._held.clear()


DEFAULT_PORTS = pytest.StashKey[DefaultPorts]()


def _xdist_controller(config: pytest.Config) -> bool:
    """This process hands tests to xdist workers (`make test`) and runs none itself."""
    return not hasattr(config, "workerinput") and bool(config.getoption("numprocesses", None))


class ControllerPorts:
    """The xdist controller's hold on the default ports: from the start of the run (a worker that
    ends early releases its own while the other's tests still run) and, for a port freed during the
    run (a `jobu local up` stopped), from the next report of any worker. Each worker still holds
    what it can before each of its tests (default_ports_held)."""

    def __init__(self, guard: DefaultPorts) -> None:
        self.guard = guard
        guard.hold()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.guard.hold()


def pytest_configure(config: pytest.Config) -> None:
    guard = config.stash[DEFAULT_PORTS] = DefaultPorts()
    if _xdist_controller(config):
        config.pluginmanager.register(ControllerPorts(guard), "jobu-controller-ports")


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    if DEFAULT_PORTS in config.stash:
        config.stash[DEFAULT_PORTS].release()


@pytest.fixture(scope="session")
def default_ports_guard(pytestconfig: pytest.Config) -> DefaultPorts:
    return pytestconfig.stash[DEFAULT_PORTS]


@pytest.fixture(autouse=True)
def default_ports_held(request: pytest.FixtureRequest, default_ports_guard: DefaultPorts) -> list[int]:
    """Before each test that may use sockets, every default port this session can hold, held
    (DefaultPorts); in the unit tier, with sockets blocked, no test can bind one anyway."""
    node = request.node
    if node.get_closest_marker("enable_socket") or not node.get_closest_marker("disable_socket"):
        default_ports_guard.hold()
    return default_ports_guard.ports


@pytest.fixture(scope="session", autouse=True)
def own_state_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """JOBU_LOCAL_STATE_DIR for the session: commands that look for a running runtime find none
    (not the developer's `.jobu/`) unless a test starts one and points them at it."""
    folder = tmp_path_factory.mktemp("jobu-state")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JOBU_LOCAL_STATE_DIR", str(folder))
        yield folder


# Where the dashboard's browser tests left their screenshots (tests/e2e/dashboard_browser.py), listed
# at the end of the run; under xdist each worker sends its list to the controller, which prints them.
WORKER_SCREENSHOTS: list[str] = []


def _screenshots() -> list[str]:
    browser = sys.modules.get("tests.e2e.dashboard_browser")
    return [str(path) for path in browser.SAVED] if browser is not None else []


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    WORKER_SCREENSHOTS.extend(getattr(node, "workeroutput", {}).get("screenshots", []))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    saved = [*WORKER_SCREENSHOTS, *_screenshots()]
    if saved:
        terminalreporter.section("dashboard screenshots")
        for path in saved:
            terminalreporter.write_line(path)


def load_event(name: str) -> dict[str, Any]:
    """An event file from events/ (the same files `sam local invoke -e` uses)."""
    event: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text())
    return event


def _database_name() -> str:
    return f"jobu_test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """URL of a new, empty PostgreSQL database, dropped after the test."""
    name = _database_name()
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def mysql_url() -> AsyncIterator[str]:
    """URL of a new, empty MariaDB/MySQL database, dropped after the test."""
    name = _database_name()
    admin = await asyncmy.connect(host=MYSQL_HOST, port=MYSQL_PORT, user=MYSQL_USER)
    try:
        async with admin.cursor() as cursor:
            await cursor.execute(f"CREATE DATABASE `{name}`")
        yield f"mysql://{MYSQL_USER}@{MYSQL_HOST}:{MYSQL_PORT}/{name}"
        async with admin.cursor() as cursor:
            await cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        admin.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a new, empty SQLite database file in the test's temporary directory."""
    return f"sqlite:///{tmp_path / 'jobu.db'}"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """AWS APIs answered by moto in-process: fake credentials, no endpoint, no X-Ray."""
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


@pytest.fixture
def no_aws_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No AWS credentials anywhere botocore looks: the environment, the files, instance metadata."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-metadata lookup
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@pytest.fixture
def s3_bucket(aws_env: None) -> str:
    """An empty bucket named "pipeline" in moto S3."""
    boto3.client("s3").create_bucket(Bucket="pipeline")
    return "pipeline"


# What the pipeline may touch in tests, as an operator would configure it (docs/security.md).
TEST_S3_LOCATIONS = "s3://pipeline/,s3://jobu-pipeline-demo/,s3://no-such-bucket/"
TEST_LOAD_TABLES = "jobstore:sales,jobstore:t,jobstore:nothing_here"


def data_access_environ(data_root: Path) -> dict[str, str]:
    return {
        constants.DATA_ROOT: str(data_root),
        constants.DATA_S3_LOCATIONS: TEST_S3_LOCATIONS,
        constants.LOAD_DATABASES: "",
        constants.LOAD_TABLES: TEST_LOAD_TABLES,
    }


@pytest.fixture
def data_access(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DataAccess:
    """Handlers may touch files under the test's tmp_path, the test buckets, and the sales tables
    of the job store's database; set in the environment, as the worker reads it."""
    for name, value in data_access_environ(tmp_path).items():
        monkeypatch.setenv(name, value)
    return DataAccess.from_environ()


LOCALSTACK_SCRIPT = str(REPO_ROOT / "scripts" / "localstack.sh")
# What each xdist worker is told by the controller (tests/conftest.py's pytest_configure_node).
RUN_FOLDER = "jobu_run_folder"
LOCALSTACK_STARTED = "localstack-started"


@pytest.fixture(scope="session")
def localstack_endpoint(pytestconfig: pytest.Config) -> Iterator[str]:
    """LocalStack on 127.0.0.1:4566 (scripts/localstack.sh starts it if it is not up; a LocalStack
    that cannot start fails the test); stopped after the run if this run started it. Under xdist
    another worker may still use it when this one ends: the controller stops it once all have."""
    result = subprocess.run([LOCALSTACK_SCRIPT], capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, f"LocalStack did not start:\n{result.stdout}\n{result.stderr}"
    started = "localstack: starting" in result.stdout
    workerinput = getattr(pytestconfig, "workerinput", None)
    if started and workerinput is not None:
        (Path(workerinput[RUN_FOLDER]) / LOCALSTACK_STARTED).touch()
    yield "http://127.0.0.1:4566"
    if started and workerinput is None:
        subprocess.run([LOCALSTACK_SCRIPT, "stop"], check=True, timeout=60)


RUN_FOLDER_KEY = pytest.StashKey[Path]()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Each xdist worker gets the controller's folder for this run (created on first use)."""
    config: pytest.Config = node.config
    if RUN_FOLDER_KEY not in config.stash:
        config.stash[RUN_FOLDER_KEY] = Path(tempfile.mkdtemp(prefix="jobu-tests-"))
    node.workerinput[RUN_FOLDER] = str(config.stash[RUN_FOLDER_KEY])


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A worker sends its screenshots to the controller; the controller, once every worker has
    ended, stops the LocalStack a worker started."""
    config = session.config
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["screenshots"] = _screenshots()
    if RUN_FOLDER_KEY in config.stash:
        folder = config.stash[RUN_FOLDER_KEY]
        if (folder / LOCALSTACK_STARTED).exists():
            subprocess.run([LOCALSTACK_SCRIPT, "stop"], check=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    """A loopback server that records the requests it gets (tests/support/http_recorder.py)."""
    started = Recorder().start()
    yield started
    started.stop()


@pytest.fixture
def through_proxy(recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """Every plain-http request of this process goes through `recorder` as its proxy: it sees the
    URL each one was for, whatever its host, and answers it (no request leaves the machine)."""
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", recorder.url)
    return recorder
