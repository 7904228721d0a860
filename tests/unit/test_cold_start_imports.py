"""What each function imports at cold start (issue 14): only what it needs, so Lambda's init is short.

Each check runs in a fresh interpreter with the environment the template gives the functions
(POWERTOOLS_TRACE_DISABLED=true unless TracingSubsegments is Enabled).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.function_environment import function_environment

ROOT = Path(__file__).resolve().parents[2]
PYTHONPATH = ":".join(str(ROOT / p) for p in (".", "layers/core/python", "functions/worker"))
FUNCTIONS = ("cron_dispatcher", "queue_dispatcher", "worker", "admin_api")
# What no entry point needs at import: the X-Ray SDK (SDK tracing is off), the AWS SDK (made on
# first use), the database drivers (only the configured one, when the store opens), pandas.
NEVER_AT_IMPORT = (
    "aws_xray_sdk",
    "boto3",
    "botocore.client",
    "asyncpg",
    "asyncmy",
    "aiosqlite",
    "pandas",
    "pyarrow",
)
BATCH = "aws_lambda_powertools.utilities.batch"
OPENAPI_MODELS = "aws_lambda_powertools.event_handler.openapi.models"


def probe(code: str, *, trace_disabled: str = "true", **env: str) -> Any:
    """What `code`, run in a fresh interpreter with the functions' environment, prints last (JSON)."""
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=function_environment(
            PYTHONPATH=PYTHONPATH,
            PATH="/usr/bin:/bin",
            POWERTOOLS_TRACE_DISABLED=trace_disabled,
            AWS_DEFAULT_REGION="us-east-1",
            **env,
        ),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()[-1]
    return json.loads(out)


def loaded(
    code: str, modules: tuple[str, ...], *, trace_disabled: str = "true", **env: str
) -> dict[str, bool]:
    found: dict[str, bool] = probe(
        f"import sys\n{code}\nprint(__import__('json').dumps({{m: m in sys.modules for m in {modules!r}}}))",
        trace_disabled=trace_disabled,
        **env,
    )
    return found


@pytest.mark.parametrize("function", FUNCTIONS)
def test_an_entry_point_imports_no_sdk_driver_or_pandas(function: str) -> None:
    found = loaded(f"import functions.{function}.app", (*NEVER_AT_IMPORT, BATCH, OPENAPI_MODELS))
    assert [name for name in NEVER_AT_IMPORT if found[name]] == []
    # Powertools' batch utilities are the worker's alone; OpenAPI's document models are read
    # only when /openapi.json is asked for
    assert found[BATCH] is (function == "worker")
    assert found[OPENAPI_MODELS] is False


def test_subsegment_tracing_still_loads_the_xray_sdk() -> None:
    # the probe sees the SDK when tracing is on (TracingSubsegments: Enabled)
    found = loaded("import functions.worker.app", ("aws_xray_sdk",), trace_disabled="false")
    assert found == {"aws_xray_sdk": True}


def test_the_worker_runs_a_message_with_the_configured_driver_only(tmp_path: Path) -> None:
    database = tmp_path / "jobu.db"
    invoke = f"""
import asyncio, json
from jobu.models import NewExecution
from jobu.store import open_store

async def one_run():
    store = await open_store("sqlite:///{database}")
    await store.migrate()
    new = NewExecution(job_id=None, handler_name="sample", params={{}}, param_source="event", max_retry=0,
                       timeout_seconds=30, source_topic="t", source_partition=0, source_offset=1)
    (run,) = await store.runs.insert_events([new], now=__import__("datetime").datetime.now())
    await store.close()
    return run.id

run_id = asyncio.run(one_run())
import functions.worker.app as app
from tests.support.lambda_events import Context, sqs_event
body = json.dumps({{"execution_id": run_id, "attempt": 0}})
event = sqs_event([{{"MessageId": "m", "ReceiptHandle": "h", "Body": body}}], "arn:aws:sqs:us-east-1:1:q")
assert app.handler(event, Context()) == {{"batchItemFailures": []}}
"""
    found = loaded(
        invoke,
        ("aiosqlite", "asyncpg", "asyncmy", "boto3", "pydantic", "pydantic_core", "fastjsonschema"),
        JOBU_DATABASE_URL=f"sqlite:///{database}",
        JOBU_DATABASE_POOL_SIZE="1",
        JOBU_WORK_QUEUE_URL="https://sqs.us-east-1.amazonaws.com/1/unused",
        JOBU_WORK_QUEUE_URL_PIPELINE="https://sqs.us-east-1.amazonaws.com/1/unused-pipeline",
        JOBU_DEAD_LETTER_QUEUE_URL="https://sqs.us-east-1.amazonaws.com/1/unused-dlq",
    )
    # a run that succeeds sends nothing: no SQS client, so boto3 is never imported; the handler API
    # has no pydantic models, and `sample` declares no params schema, so fastjsonschema waits for
    # the first run of a handler that does (docs/performance.md)
    assert found == {
        "aiosqlite": True,
        "asyncpg": False,
        "asyncmy": False,
        "boto3": False,
        "pydantic": False,
        "pydantic_core": False,
        "fastjsonschema": False,
    }


def test_the_default_pools_handlers_never_load_pydantic() -> None:
    """Every handler module of the default pool (the samples) imports without pydantic; the
    pipeline pool's modules may (their params are pydantic models)."""
    code = (
        "from jobu.handler_manifest import import_pool_handlers\n"
        "from jobu.handlers import registered_handler_names\n"
        "import_pool_handlers('default')\n"
        "assert 'sample9' in registered_handler_names()\n"
    )
    found = loaded(code, ("pydantic", "pydantic_core", "annotated_types", "jobu.access_fields"))
    assert found == dict.fromkeys(
        ("pydantic", "pydantic_core", "annotated_types", "jobu.access_fields"), False
    )


DISPATCHER_SETUP = """
import asyncio
from datetime import UTC, datetime, timedelta
from jobu.specs import CronJobSpec
from jobu.store import open_store

async def setup():
    store = await open_store("sqlite:///{database}")
    await store.migrate()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    spec = CronJobSpec(name="due", cron_expression="* * * * *", handler_name="sample")
    await store.cron_jobs.insert(spec, next_run_at=now, now=now - timedelta(minutes=1))
    await store.close()

asyncio.run(setup())
"""
FIRST_INVOCATION = {
    "cron_dispatcher": "app.handler({}, Context())",
    "queue_dispatcher": (
        'import base64; value = base64.b64encode(b\'{"handler_name": "sample", "params": {}}\').decode();'
        "record = {'topic': 'jobu-events', 'partition': 0, 'offset': 1, 'value': value};"
        "app.handler({'eventSource': 'aws:kafka', 'records': {'jobu-events-0': [record]}}, Context())"
    ),
}


def cold_environment(database: Path) -> dict[str, str]:
    """A function's environment on a SQLite file, with queues that refuse at once (a run stays
    unsent), so a first invocation runs its whole cold path on this machine."""
    return {
        "JOBU_DATABASE_URL": f"sqlite:///{database}",
        "JOBU_DATABASE_POOL_SIZE": "1",
        "JOBU_WORK_QUEUE_URL": "http://127.0.0.1:9/1/work",
        "JOBU_WORK_QUEUE_URL_PIPELINE": "http://127.0.0.1:9/1/pipeline",
        "JOBU_DEAD_LETTER_QUEUE_URL": "http://127.0.0.1:9/1/dlq",
        "JOBU_DEAD_LETTER_QUEUE_URL_PIPELINE": "http://127.0.0.1:9/1/pipeline-dlq",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }


@pytest.mark.parametrize("function", sorted(FIRST_INVOCATION))
def test_a_dispatcher_never_loads_pydantic(function: str, tmp_path: Path) -> None:
    """The dispatch path is pydantic-free (jobu.models' rows are dataclasses, the envelopes are
    checked field by field): importing pydantic and building models' schemas was most of what a
    dispatcher loaded beyond its floor (docs/performance.md)."""
    database = tmp_path / "jobu.db"
    environment = cold_environment(database)
    loaded(DISPATCHER_SETUP.format(database=database), (), **environment)
    invoke = (
        f"import functions.{function}.app as app\n"
        "from tests.support.lambda_events import Context\n"
        f"{FIRST_INVOCATION[function]}\n"
    )
    found = loaded(invoke, ("pydantic", "pydantic_core", "boto3", "jobu.listings"), **environment)
    # boto3: it did send. jobu.listings: the rows only the admin reads (run summaries, rejected
    # records, the audit trail), each dataclass methods compiled at import (docs/performance.md)
    assert found == {"pydantic": False, "pydantic_core": False, "boto3": True, "jobu.listings": False}


def test_the_cron_path_makes_no_rejected_records_store(tmp_path: Path) -> None:
    """A tick never writes or reads rejected records: their part of the store and its rows are made at
    first use (the queue dispatcher's, the admin's), not in every function's cold start."""
    database = tmp_path / "jobu.db"
    environment = cold_environment(database)
    loaded(DISPATCHER_SETUP.format(database=database), (), **environment)
    invoke = (
        "import functions.cron_dispatcher.app as app\n"
        "from tests.support.lambda_events import Context\n"
        f"{FIRST_INVOCATION['cron_dispatcher']}\n"
        "assert 'rejected_records' not in vars(app.container._store)\n"
    )
    modules = ("jobu.store.rejected_records", "jobu.store.statistics", "jobu.listings")
    assert loaded(invoke, modules, **environment) == dict.fromkeys(modules, False)


def test_no_entry_point_imports_importlib_metadata_or_the_http_client() -> None:
    """aiosql's package runs a distribution look-up at import (jobu.store.aiosql_package skips it);
    urllib's HTTP client and hmac wait for a webhook to send, secrets for a traced run. (The admin
    API's Event Handler loads them itself.)"""
    heavy = ("importlib.metadata", "email", "urllib.request", "hmac")
    for function in ("cron_dispatcher", "queue_dispatcher", "worker"):
        found = loaded(f"import functions.{function}.app", heavy)
        assert [name for name in heavy if found[name]] == [], function


def test_aiosql_made_without_its_init_exports_what_its_init_does() -> None:
    code = (
        "import ast, importlib.util, inspect\n"
        "import jobu.store.connector\n"
        "import aiosql, aiosql.aiosql, aiosql.utils\n"
        "from importlib.metadata import version\n"
        "init = ast.parse(open(importlib.util.find_spec('aiosql').origin).read())\n"
        "names = next(n.value for n in init.body\n"
        "             if isinstance(n, ast.Assign) and n.targets[0].id == '__all__')\n"
        "expected = sorted(ast.literal_eval(names))\n"
        "assert sorted(aiosql.__all__) == expected, (aiosql.__all__, expected)\n"
        "assert aiosql.from_str is aiosql.aiosql.from_str\n"
        "assert aiosql.SQLParseException is aiosql.utils.SQLParseException\n"
        "assert aiosql.__version__ == version('aiosql')\n"
    )
    assert loaded(code, ()) == {}


# What each function's first invocation has aiosql parse of jobu's ~146 queries: each query is parsed
# when first run (jobu.store.connector.LazyQueries), and parsing them all was about 101 M
# instructions of every cold start (docs/performance.md). A cold path that comes to parse every
# noun's queries, or a store that parses ahead again, fails here: at most this many queries, and
# from these files only (sql/<dialect>/<noun>.sql and sql/common/<noun>.sql; SQLite's cancel
# requests are made when its store opens).
QUERY_BUDGETS: dict[str, tuple[int, set[str]]] = {
    # a tick: the due jobs and their runs, the sweep, the limits' promotions, retention, cron alerts
    "cron_dispatcher": (30, {"cron_jobs", "runs", "limits", "debounce", "batches", "cron_alerts",
                             "notifications", "audit", "cancel_requests"}),
    "queue_dispatcher": (6, {"cron_jobs", "runs", "limits", "cancel_requests"}),
    "worker": (6, {"runs", "limits", "notifications", "cancel_requests"}),
    "admin_api": (4, {"runs", "cancel_requests"}),
}  # fmt: skip
# the dispatchers' due job, and a run for the worker (its id printed)
COLD_PATH_SETUP = DISPATCHER_SETUP.replace(
    "    await store.close()",
    """    new = NewExecution(
        job_id=None, handler_name="sample", params={{}}, param_source="event", max_retry=0,
        timeout_seconds=30, source_topic="t", source_partition=0, source_offset=1,
    )
    (run,) = await store.runs.insert_events([new], now=now)
    await store.close()
    print(run.id)""",
).replace("from jobu.specs", "from jobu.models import NewExecution\nfrom jobu.specs")
WORKER_INVOCATION = (
    "from tests.support.lambda_events import sqs_event; import json;"
    "body = json.dumps({{'execution_id': {run_id}, 'attempt': 0}});"
    "message = {{'MessageId': 'm', 'ReceiptHandle': 'h', 'Body': body}};"
    "event = sqs_event([message], 'arn:aws:sqs:us-east-1:1:q');"
    "assert app.handler(event, Context()) == {{'batchItemFailures': []}}"
)
ADMIN_INVOCATION = (
    "from tests.support.lambda_events import admin_jobs_page_event;"
    "assert app.handler(admin_jobs_page_event(), Context())['statusCode'] == 200"
)


@pytest.mark.parametrize("function", sorted(QUERY_BUDGETS))
def test_a_cold_path_parses_only_the_queries_it_runs(function: str, tmp_path: Path) -> None:
    database = tmp_path / "jobu.db"
    environment = cold_environment(database)
    run_id = probe(COLD_PATH_SETUP.format(database=database), **environment)
    invocation = {
        **FIRST_INVOCATION,
        "worker": WORKER_INVOCATION.format(run_id=run_id),
        "admin_api": ADMIN_INVOCATION,
    }[function]
    parsed: dict[str, str] = probe(
        f"import functions.{function}.app as app\n"
        "from tests.support.lambda_events import Context\n"
        f"{invocation}\n"
        "queries = app.container._store.connector.jobu_queries\n"
        "print(__import__('json').dumps({name: path.stem for name, path in queries.parsed.items()}))",
        **environment,
    )
    budget, nouns = QUERY_BUDGETS[function]
    assert parsed, "the first invocation ran no query?"
    assert len(parsed) <= budget, sorted(parsed)
    assert {name: noun for name, noun in parsed.items() if noun not in nouns} == {}
