"""Issue 19, finding 1, for every handler the worker ships: no params field reaches a connection,
a path, a URL or a table except through jobu.access.

sample9 took database URLs from params and connected to them. These tests make that mistake
fail in any handler, present or future, without naming it here:

- **What params may hold** (the JSON Schema of each handler's params model, what the edge
  checks). Every handler declares a model that refuses unknown keys, so its schema is all it
  can read (one exception, `sample`, which echoes its params and is run with hostile extra keys
  below). A field whose name says path, file, folder, URL, host, port, database, table, bucket,
  endpoint... or whose format says URI, path or address must be one of jobu.access's request
  types (`DataPath`, `DatabaseName`, `TableName`: `x-jobu-access` in the schema), which only
  jobu.access turns into something to open.
- **What a run reaches.** Each handler runs through the real worker from an example that
  succeeds, then with every string of its params (and every string field its schema declares)
  replaced in turn by hostile values: database and HTTP URLs and a host:port of a listening
  canary, SQLite files and paths (absolute, and climbing out of the data root) into a canary
  folder, an S3 object of another bucket, the job store's tables. Nothing may reach them: no
  connection to the canary (its listener, and Python's `socket.connect` audit events); no open,
  sqlite3.connect, mkdir, rename or removal in the canary folder (audit events, its files'
  access times, its listing); no S3 call on the other bucket; no process started; the job
  store's tables as they were.

A new handler fails `test_every_handler_has_an_example` until it gets an example that succeeds,
and then meets both tests like the others.
"""

from __future__ import annotations

import importlib
import os
import re
import sqlite3
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from botocore.client import BaseClient
from pydantic import AnyUrl, Field

from jobu.access import ACCESS_SCHEMA_KEY, data_path_schema, database_name_schema, table_name_schema
from jobu.access_fields import DatabaseName, DataPath, TableName
from jobu.handler_manifest import handler_pool
from jobu.handlers import BASE_PARAMS_SCHEMA, get_handler, params_json_schema, registered_handler_names
from jobu.models import Execution
from jobu_handlers.model_params import StrictParams
from jobu_handlers.params import strict_schema
from tests.security.conftest import Canary, Sentinel, data_root
from tests.security.test_job_store import add_job
from tests.support.harness import Harness, work_message

importlib.import_module("jobu_handlers")  # registers the shipped handlers
# the worker's handlers; other tests register handlers of their own, which the worker never ships
HANDLERS = sorted(
    name for name in registered_handler_names() if get_handler(name).__module__.startswith("jobu_handlers.")
)

# Handlers whose params keep unknown keys, and why that is safe; run with hostile extra keys.
OPEN_BY_DESIGN = {"sample": "echoes its params back as its result; it reads no key"}
EXTRA_KEYS = ("url", "database_url", "sqlite_url", "host", "path", "file", "table")

ACCESS_KINDS = frozenset({"data_path", "database", "table"})
# Words of a field name that mean "something to open or connect to".
RESOURCE_WORDS = frozenset(
    {
        "url", "urls", "uri", "uris", "dsn", "host", "hosts", "hostname", "port", "address", "addr",
        "endpoint", "socket", "server", "connection", "conn", "path", "paths", "file", "files",
        "filename", "dir", "directory", "folder", "table", "tables", "database", "databases", "db",
        "bucket", "buckets",
    }
)  # fmt: skip
# JSON Schema formats pydantic gives URLs, DSNs, paths and addresses.
RESOURCE_FORMATS = frozenset(
    {
        "uri", "uri-reference", "iri", "multi-host-uri", "path", "file-path", "directory-path",
        "new-path", "hostname", "ipv4", "ipv6", "ipvanyaddress", "ipvanyinterface", "ipvanynetwork",
    }
)  # fmt: skip


def words(name: str) -> set[str]:
    return {word.lower() for word in re.split(r"[_\W]+|(?<=[a-z])(?=[A-Z])", name) if word}


def resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = root["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def alternatives(schema: dict[str, Any], root: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The schema and each of its anyOf / oneOf / allOf branches, references resolved."""
    schema = resolve(schema, root)
    yield schema
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(key, []):
            yield from alternatives(branch, root)


def marked(schema: dict[str, Any], root: dict[str, Any]) -> set[str]:
    """The jobu.access kinds the schema (or the items of a list of it) declares."""
    kinds = set()
    for branch in alternatives(schema, root):
        for part in (branch, resolve(branch.get("items", {}), root)):
            if ACCESS_SCHEMA_KEY in part:
                kinds.add(part[ACCESS_SCHEMA_KEY])
    return kinds


def resource_problems(
    schema: dict[str, Any], root: dict[str, Any] | None = None, where: str = "params"
) -> list[str]:
    """Why fields of `schema` could name something to open or connect to without jobu.access."""
    root = root or schema
    problems = []
    for branch in alternatives(schema, root):
        for name, field_schema in branch.get("properties", {}).items():
            problems += _field_problems(name, field_schema, root, f"{where}.{name}")
        for key in ("items", "additionalProperties"):
            if isinstance(branch.get(key), dict):
                problems += resource_problems(branch[key], root, f"{where}[]")
    return problems


def _field_problems(name: str, schema: dict[str, Any], root: dict[str, Any], where: str) -> list[str]:
    kinds = marked(schema, root)
    if kinds:
        unknown = kinds - ACCESS_KINDS
        return [f"{where}: unknown {ACCESS_SCHEMA_KEY} {sorted(unknown)}"] if unknown else []
    problems = []
    named = words(name) & RESOURCE_WORDS
    if named:
        problems.append(f"{where}: its name says {sorted(named)} but it is not a jobu.access request type")
    for branch in alternatives(schema, root):
        for part in (branch, resolve(branch.get("items", {}), root)):
            if part.get("format") in RESOURCE_FORMATS:
                problems.append(f"{where}: format {part['format']!r} without jobu.access")
        default = branch.get("default")
        if isinstance(default, str) and ("://" in default or default.startswith("/")):
            problems.append(f"{where}: default {default!r} looks like a URL or a path")
    return problems + resource_problems(schema, root, where)


# --- what params may hold ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", HANDLERS)
def test_every_handler_declares_every_param_it_reads(name: str) -> None:
    schema = params_json_schema(get_handler(name))
    if name in OPEN_BY_DESIGN:
        return
    refusal = f"{name} must declare params that refuse unknown keys (jobu_handlers.params.strict_schema)"
    assert schema is not None, refusal
    assert schema.get("additionalProperties") is False, refusal


@pytest.mark.parametrize("name", HANDLERS)
def test_no_param_names_a_path_url_host_database_or_table_without_jobu_access(name: str) -> None:
    schema = params_json_schema(get_handler(name))
    assert resource_problems(schema or {}) == []


class Leaky(StrictParams):
    callback_url: str
    output_dir: str = "/tmp/out"
    host: str
    endpoint: AnyUrl
    target_table: str
    source: Path
    backupDatabase: str  # camelCase is split into words too
    nested: list[dict[str, str]] = Field(default_factory=list)


class Declared(StrictParams):
    input_path: DataPath
    table: TableName
    database: DatabaseName = "jobstore"
    databases: list[DatabaseName] = Field(default_factory=list)
    columns: list[str] = Field(default_factory=list)


def test_the_schema_check_can_fail() -> None:
    """The rule above, on a model that makes the mistakes and on one that does not."""
    problems = resource_problems(Leaky.model_json_schema(mode="validation"))
    for name in (
        "callback_url",
        "output_dir",
        "host",
        "endpoint",
        "target_table",
        "source",
        "backupDatabase",
    ):
        assert any(p.startswith(f"params.{name}:") for p in problems), (name, problems)
    assert any("'/tmp/out' looks like" in p for p in problems)
    assert resource_problems(Declared.model_json_schema(mode="validation")) == []
    assert resource_problems(BASE_PARAMS_SCHEMA) == []
    # the same request types as JSON Schemas (a handler without pydantic, as the samples are)
    declared = strict_schema(
        "Declared",
        "requests only",
        input_path=data_path_schema(),
        table=table_name_schema(),
        database=database_name_schema(default="jobstore"),
        databases={"default": [], "items": database_name_schema(), "type": "array"},
    )
    assert resource_problems(declared) == []
    assert declared["required"] == ["input_path", "table"]


# --- what a run reaches -----------------------------------------------------------------------------


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """What a handler reaches does not depend on the job store's backend."""
    return sqlite_url


def sqlite_path(harness: Harness) -> str:
    return harness.database_url.removeprefix("sqlite:///")


def prepare_items(harness: Harness, root: Path) -> None:
    run(harness, "sample1", {"name": "item one"})


def prepare_files(harness: Harness, root: Path) -> None:
    (root / "raw").mkdir(parents=True, exist_ok=True)
    (root / "raw/sales.csv").write_text(
        "order_id,customer,amount,currency,ordered_at\n1,alice,9.50,EUR,2026-11-01T10:00:00\n"
    )
    (root / "clean").mkdir(exist_ok=True)
    pq.write_table(pa.table({"order_id": [1, 2], "customer": ["alice", "bob"]}), root / "clean/load.parquet")
    with sqlite3.connect(sqlite_path(harness)) as conn:
        conn.execute("CREATE TABLE sales (order_id INTEGER, customer TEXT)")


@dataclass(frozen=True)
class Example:
    """Params that make the handler succeed, and what they need to exist first."""

    params: dict[str, Any]
    prepare: Callable[[Harness, Path], None] = lambda harness, root: None


EXAMPLES = {
    "sample": Example({"name": "hello"}),
    "sample1": Example({"name": "widget", "value": "blue"}),
    "sample2": Example({"id": 1}, prepare_items),
    "sample3": Example({"id": 1, "value": "red"}, prepare_items),
    "sample4": Example({"id": 1}, prepare_items),
    "sample9": Example({"databases": ["jobstore"], "series_rows": 10}),
    "sleep": Example({"seconds": 0}),
    "pandas_preprocess": Example(
        {"input_path": "raw/sales.csv", "output_path": "clean/sales.parquet"}, prepare_files
    ),
    "pydantic_validator": Example(
        {
            "input_path": "raw/sales.csv",
            "model": "sale",
            "valid_output_path": "valid/sales.parquet",
            "rejected_output_path": "rejected/sales.csv",
        },
        prepare_files,
    ),
    "db_loader": Example({"input_path": "clean/load.parquet", "table": "sales"}, prepare_files),
}


def test_every_handler_has_an_example() -> None:
    missing = sorted(set(HANDLERS) - set(EXAMPLES))
    assert missing == [], f"add params that make {missing} succeed to EXAMPLES, and what they need first"


def run(harness: Harness, name: str, params: dict[str, Any]) -> Execution:
    execution_id = harness.insert_event_run(name, params)
    harness.invoke_worker([work_message(execution_id)], pool=handler_pool(name))
    finished: Execution = harness.with_store(lambda s: s.runs.get(execution_id))
    return finished


CANARY_BUCKET = "canary-bucket"
# Audit events (sys.addaudithook) that name something a run opens, changes or starts.
PATH_EVENTS = frozenset(
    {
        "open", "os.mkdir", "os.rename", "os.remove", "os.rmdir", "os.symlink", "os.link",
        "os.truncate", "os.chmod", "os.chown", "os.utime", "os.listdir", "os.scandir",
        "shutil.copyfile", "shutil.move", "shutil.rmtree", "sqlite3.connect",
    }
)  # fmt: skip
SPAWN_EVENTS = frozenset(
    {"subprocess.Popen", "os.system", "os.posix_spawn", "os.exec", "os.spawn", "os.fork"}
)


@dataclass
class Traps:
    """What hostile params point at, and every time a run reached it."""

    canary: Canary
    folder: Path
    reached: list[str] = field(default_factory=list)
    case: str = ""  # the run under way; between runs (the test's own checks) nothing is recorded

    def values(self, tag: str, root: Path) -> list[str]:
        port = self.canary.port
        return [
            f"postgresql://postgres@127.0.0.1:{port}/{tag}",
            f"mysql://root@127.0.0.1:{port}/{tag}",
            f"http://127.0.0.1:{port}/{tag}",
            f"127.0.0.1:{port}",
            f"sqlite:///{self.folder}/{tag}.db",
            str(self.folder / "secret.csv"),
            os.path.relpath(self.folder / "secret.csv", root),
            str(self.folder / f"{tag}.out"),
            f"s3://{CANARY_BUCKET}/{tag}",
            "cron_jobs",
            "canary_table",
        ]

    def run(self, harness: Harness, name: str, params: dict[str, Any], case: str) -> None:
        self.case = case
        try:
            run(harness, name, params)
        finally:
            self.case = ""

    def audit(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.case:
            return
        if event == "socket.connect":
            address = args[1]
            if isinstance(address, tuple) and len(address) >= 2 and address[1] == self.canary.port:
                self.reached.append(f"{self.case}: connected to {address}")
        elif event in SPAWN_EVENTS:
            self.reached.append(f"{self.case}: {event} {args[:2]!r}")
        elif event in PATH_EVENTS:
            for arg in args:
                if isinstance(arg, (str, bytes)) and self._inside(arg):
                    self.reached.append(f"{self.case}: {event} {os.fsdecode(arg)!r}")

    def _inside(self, path: str | bytes) -> bool:
        text = os.fsdecode(path).removeprefix("file:").removeprefix("sqlite:///")
        absolute = os.path.normpath(os.path.join(os.getcwd(), text))
        return absolute == str(self.folder) or absolute.startswith(f"{self.folder}{os.sep}")

    def s3_call(self, operation: str, params: dict[str, Any]) -> None:
        if self.case and params.get("Bucket") == CANARY_BUCKET:
            self.reached.append(f"{self.case}: S3 {operation} on {CANARY_BUCKET}")


_TRAPS: list[Traps] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    # runs for every audited event of the process from now on: nothing to do unless a test listens
    if _TRAPS:
        try:
            _TRAPS[-1].audit(event, args)
        except Exception as error:  # an audit hook must never raise into the code it watches
            _TRAPS[-1].reached.append(f"audit hook failed on {event}: {error!r}")


sys.addaudithook(_audit)


@pytest.fixture
def traps(canary: Canary, sentinel: Sentinel, monkeypatch: pytest.MonkeyPatch) -> Iterator[Traps]:
    listening = Traps(canary, sentinel.path.parent)
    real_call = BaseClient._make_api_call

    def spy(client: Any, operation: str, params: dict[str, Any]) -> Any:
        listening.s3_call(operation, params)
        return real_call(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", spy)
    _TRAPS.append(listening)
    yield listening
    _TRAPS.remove(listening)


def string_positions(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Where the strings of a params example are (dict keys are data, not targets: not included)."""
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from string_positions(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from string_positions(item, (*path, index))


def declared_string_fields(schema: dict[str, Any]) -> Iterator[tuple[str, bool]]:
    """(field, is a list) for every top-level field that takes a string or a list of strings."""
    for name, field_schema in schema.get("properties", {}).items():
        for branch in alternatives(field_schema, schema):
            if branch.get("type") == "string" and "enum" not in branch and "const" not in branch:
                yield name, False
                break
            items = resolve(branch.get("items", {}), schema)
            if branch.get("type") == "array" and items.get("type") == "string" and "enum" not in items:
                yield name, True
                break


def hostile_cases(
    name: str, example: dict[str, Any]
) -> Iterator[tuple[str, Callable[[str], dict[str, Any]]]]:
    """(where, a function of the hostile value giving the params) for every place a string goes."""

    def at(path: tuple[Any, ...]) -> Callable[[str], dict[str, Any]]:
        def params(value: str) -> dict[str, Any]:
            import copy

            changed = copy.deepcopy(example)
            target = changed
            for step in path[:-1]:
                target = target[step]
            target[path[-1]] = value
            return changed

        return params

    seen = set()
    for path in string_positions(example):
        seen.add(path[0])
        yield ".".join(map(str, path)), at(path)
    schema = params_json_schema(get_handler(name)) or BASE_PARAMS_SCHEMA
    for field_name, is_list in declared_string_fields(schema):
        if field_name not in seen:
            yield field_name, (lambda v, f=field_name, lst=is_list: {**example, f: [v] if lst else v})
    if name in OPEN_BY_DESIGN:
        for key in EXTRA_KEYS:
            yield key, (lambda v, k=key: {**example, k: v})


def folder_listing(folder: Path) -> dict[str, tuple[int, int]]:
    """Names, sizes and modification times: never reads a file (that would move its access time)."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def job_store_tables(harness: Harness) -> tuple[list[Any], int]:
    with sqlite3.connect(sqlite_path(harness)) as conn:
        canary_rows = conn.execute("SELECT v FROM canary_table").fetchall()
        (jobs,) = conn.execute("SELECT COUNT(*) FROM cron_jobs").fetchone()
    return canary_rows, jobs


@pytest.mark.parametrize("name", HANDLERS)
def test_hostile_params_reach_nothing(
    harness: Harness, traps: Traps, sentinel: Sentinel, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    example = EXAMPLES[name]
    root = data_root(harness)
    root.mkdir(parents=True, exist_ok=True)
    example.prepare(harness, root)
    boto3.client("s3").create_bucket(Bucket=CANARY_BUCKET)
    monkeypatch.setenv("JOBU_DATA_S3_LOCATIONS", f"s3://pipeline/,s3://{CANARY_BUCKET}/allowed/")
    with sqlite3.connect(sqlite_path(harness)) as conn:
        conn.execute("CREATE TABLE canary_table (v TEXT)")
        conn.execute("INSERT INTO canary_table VALUES ('untouched')")
    add_job(harness, "canary-job", "sample", {})
    control = run(harness, name, example.params)
    assert control.status == "SUCCESS", f"the example of {name} must succeed: {control.error_message}"
    listing, tables = folder_listing(traps.folder), job_store_tables(harness)

    tried = set()
    for index, (where, params_with) in enumerate(hostile_cases(name, example.params)):
        for value in traps.values(f"t{index}", root):
            traps.run(harness, name, params_with(value), f"{name} {where}={value!r}")
        tried.add(where.split(".")[0])

    schema = params_json_schema(get_handler(name)) or {}
    requests = {field for field, value in schema.get("properties", {}).items() if marked(value, schema)}
    assert requests <= tried, "every field jobu.access decides was given hostile values"
    assert traps.reached == []
    assert traps.canary.connections() == 0
    assert not sentinel.was_read()
    assert folder_listing(traps.folder) == listing
    assert job_store_tables(harness) == tables
