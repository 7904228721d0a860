"""Cold start of each function: import of its entry point + its first invocation, in a fresh process.

For each of the five functions (cron dispatcher, queue dispatcher, the default pool's worker, the
pipeline pool's worker, admin API) a new Python process is started with that function's environment
(as the template sets it: SDK tracing off, the job store on PostgreSQL, queues on LocalStack), and
times, from before its first import:
- import: `functions/<name>/app.py` imported (what Lambda's init phase does);
- first invocation: `app.handler(event, context)` with a typical event, as AWS shapes it:
  cron: a scheduler tick with one job due (a run created and queued); queue: an MSK event of one
  record (a run created and queued); worker: an SQS event of one `sample` message (claimed, run,
  finished); pipeline worker: an SQS event of one `pandas_preprocess` message (a 100-row CSV to
  Parquet: claimed, run, finished); admin: GET /api/jobs (a page of runs).

The floor, in the same run, is a process of the same kind that imports boto3, Powertools (Logger
and Metrics, made as every function makes them) and asyncpg, then makes the external calls the
function's first invocation cannot do without, directly: an asyncpg connection and one query; for
the two dispatchers also an SQS client and one SendMessageBatch; for the pipeline worker also
pyarrow (csv, parquet and compute, which the step is built on) and the same CSV read and written as
Parquet. Each function and its floor run as a pair, back
to back (in turns first), --repeat times; the ratio is the median of the pairs' ratios, so the load
a shared machine has at a moment falls on both sides of a ratio. Interpreter start-up is outside
both.

Connections: one more process per function runs 100 warm invocations after the first and counts
the TCP connections it opens (socket connects), to the database server and to the AWS endpoint,
at the first invocation and over the 100 warm ones.

    .venv/bin/python bench/cold_start.py [--repeat 11] [--warm 100] [--no-bytecode]
    (JOBU_BENCH_TRACE_DISABLED=false: the functions with X-Ray SDK subsegments, TracingSubsegments:
     Enabled; JOBU_BENCH_PROFILE=path: each process writes cProfile stats to path.<kind>)

Last line: `ratio X`, the slowest function's import + first invocation over its floor's (target
<= 1.3; the default pool's worker <= 1.0, printed on its own row).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

# nothing but the standard library at the top: a child measures every import after its start
ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS: tuple[str, ...] = ("cron_dispatcher", "queue_dispatcher", "worker", "pipeline_worker", "admin_api")
# each kind's function in template.yaml, and its entry point (every pool's worker runs the worker's)
LOGICAL_IDS = {
    "cron_dispatcher": "CronDispatcherFunction",
    "queue_dispatcher": "QueueDispatcherFunction",
    "worker": "WorkerFunction",
    "pipeline_worker": "PipelineWorkerFunction",
    "admin_api": "AdminApiFunction",
}
MODULES = {kind: f"functions.{'worker' if kind == 'pipeline_worker' else kind}.app" for kind in FUNCTIONS}
ENDPOINT = os.environ.get("AWS_ENDPOINT_URL") or os.environ.get(
    "JOBU_BENCH_AWS_ENDPOINT", "http://127.0.0.1:4566"
)
SENDS = {"cron_dispatcher", "queue_dispatcher"}  # first invocations that send an SQS message
TARGETS = {"worker": "<= 1.0x"}  # the light pool's worker: no slower than its floor; the others 1.3x
CSV_ROWS = 100
EMPTY = "empty"  # a child that imports and does nothing: start-up, counted once and subtracted


# --- the measured process ------------------------------------------------------------------------


class ConnectCounter:
    """TCP connections this process opens, by destination port (asyncpg, asyncmy and urllib3 all
    end in socket.connect)."""

    def __init__(self) -> None:
        self.by_port: dict[int, int] = {}
        real = socket.socket.connect

        def connect(sock: socket.socket, address: Any) -> Any:
            if isinstance(address, tuple):
                self.by_port[address[1]] = self.by_port.get(address[1], 0) + 1
            return real(sock, address)

        setattr(socket.socket, "connect", connect)  # noqa: B010  (a method of a C type's subclass)

    def snapshot(self) -> dict[int, int]:
        return dict(self.by_port)


def child(kind: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """One cold start, in this fresh process; `inputs`: the events (and the floor's targets)."""
    started = time.perf_counter()
    counter = ConnectCounter()
    real_stdout, sys.stdout = sys.stdout, open(os.devnull, "w")  # noqa: SIM115  (logs: formatted, dropped)
    profile = None
    if os.environ.get("JOBU_BENCH_PROFILE"):
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    try:
        if kind == EMPTY:  # the interpreter and this harness alone: what the counts subtract
            result = {"import": 0.0, "first": time.perf_counter() - started}
        elif kind.startswith("floor:"):
            result = floor_child(kind.removeprefix("floor:"), inputs, started)
        else:
            result = function_child(kind, inputs, started, counter)
    finally:
        sys.stdout = real_stdout
        if profile is not None:
            profile.disable()
            profile.dump_stats(os.environ["JOBU_BENCH_PROFILE"] + f".{kind}")
    return result


def floor_child(kind: str, inputs: dict[str, Any], started: float) -> dict[str, Any]:
    """boto3, Powertools (the utilities the function is built on) and asyncpg, then the calls the
    function's first invocation cannot do without, made directly."""
    import asyncio

    import asyncpg
    import boto3
    from aws_lambda_powertools import Logger, Metrics

    Logger(service="jobu")
    Metrics(namespace="jobu-bench")
    utility = powertools_utility(kind)
    if kind == "pipeline_worker":  # pyarrow: what the step is built on (compute types and cleans)
        import pyarrow.compute  # type: ignore[import-untyped, unused-ignore]  # noqa: F401
        import pyarrow.csv as pacsv  # type: ignore[import-untyped, unused-ignore]
        import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]
    imported = time.perf_counter()

    async def query() -> Any:
        conn = await asyncpg.connect(inputs["database_url"])
        return await conn.fetchval("SELECT 1"), conn  # left open, as a pool keeps it

    asyncio.new_event_loop().run_until_complete(query())
    if kind in SENDS:
        sqs = boto3.client("sqs", endpoint_url=ENDPOINT)
        entries: Any = [{"Id": "1", "MessageBody": '{"execution_id": 0, "attempt": 0}'}]
        sqs.send_message_batch(QueueUrl=inputs["queue_url"], Entries=entries)
    utility(inputs["event"])
    if kind == "pipeline_worker":  # the step's own work: the CSV to Parquet
        pq.write_table(pacsv.read_csv(inputs["csv"]), inputs["parquet"])
    done = time.perf_counter()
    return {"import": imported - started, "first": done - imported}


def powertools_utility(kind: str) -> Any:
    """What the function uses of Powertools beyond Logger and Metrics, serving one trivial event:
    the worker's async batch processor, the admin API's Event Handler with validation."""
    if kind in {"worker", "pipeline_worker"}:
        from aws_lambda_powertools.utilities.batch import (
            AsyncBatchProcessor,
            EventType,
            async_process_partial_response,
        )

        async def record_handler(record: Any) -> str:
            return str(record.body)

        processor = AsyncBatchProcessor(EventType.SQS)

        def process(event: Any) -> Any:
            from tests.support.lambda_events import Context

            return async_process_partial_response(
                event=event, record_handler=record_handler, processor=processor, context=cast(Any, Context())
            )

        return process
    if kind == "admin_api":
        from typing import Annotated

        from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
        from aws_lambda_powertools.event_handler.openapi.params import Query

        app = APIGatewayHttpResolver(enable_validation=True)

        def jobs(size: int = 20) -> dict[str, Any]:
            return {"items": [], "size": size}

        # objects, not the strings this module's annotations are, for Powertools to read
        jobs.__annotations__ = {"size": Annotated[int, Query(ge=1, le=100)], "return": dict[str, Any]}
        app.get("/api/jobs")(jobs)

        def resolve(event: Any) -> Any:
            from tests.support.lambda_events import Context

            return app.resolve(event, cast(Any, Context()))

        return resolve
    return lambda event: None


def function_child(
    kind: str, inputs: dict[str, Any], started: float, counter: ConnectCounter
) -> dict[str, Any]:
    import importlib

    from tests.support.lambda_events import Context

    app: Any = importlib.import_module(MODULES[kind])
    imported = time.perf_counter()
    response = app.handler(inputs["events"][0], Context(f"jobu-{kind}"))
    done = time.perf_counter()
    check_response(kind, response)
    first_connects = counter.snapshot()
    warm_times = []
    for event in inputs["events"][1:]:
        at = time.perf_counter()
        check_response(kind, app.handler(event, Context(f"jobu-{kind}")))
        warm_times.append(time.perf_counter() - at)
    after = counter.snapshot()
    return {
        "import": imported - started,
        "first": done - imported,
        "first_connects": first_connects,
        "warm_connects": {port: after[port] - first_connects.get(port, 0) for port in after},
        "warm_invocations": len(warm_times),
        "warm_p50": statistics.median(warm_times) if warm_times else None,
        "pool_size": pool_size(app),
    }


def check_response(kind: str, response: dict[str, Any]) -> None:
    """Each invocation did its work (a benchmark of failures would time nothing useful)."""
    ok = {
        "cron_dispatcher": len(response.get("dispatched", ())) == 1 and not response.get("unsent"),
        "queue_dispatcher": not response.get("rejected") and not response.get("unsent"),
        "worker": not response.get("batchItemFailures"),
        "pipeline_worker": not response.get("batchItemFailures"),
        "admin_api": response.get("statusCode") == 200,
    }[kind]
    if not ok:
        raise RuntimeError(f"{kind} answered {response}")


def pool_size(app: Any) -> int:
    store = app.container._store
    pool = None if store is None else store.connector._pool
    return 0 if pool is None else int(pool.get_size())


# --- the parent: database, queues, events, processes ---------------------------------------------


def environment(kind: str, database_url: str, queues: dict[str, str], data_root: str) -> dict[str, str]:
    from bench.function_process import process_environment

    settings = {"POWERTOOLS_TRACE_DISABLED": os.environ.get("JOBU_BENCH_TRACE_DISABLED", "true")}
    if kind == "pipeline_worker":
        settings["JOBU_DATA_ROOT"] = data_root
    if os.environ.get("JOBU_BENCH_NO_BYTECODE"):
        # nothing cached to read, nothing written: every import compiles its module
        empty_cache = tempfile.mkdtemp(prefix="jobu-nopyc-")
        settings |= {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": empty_cache}
    passed = ("PATH", "HOME", "LANG", "JOBU_BENCH_PROFILE")
    return process_environment(LOGICAL_IDS[kind], database_url, queues, passed, **settings)


class Fixture:
    """The job store and queues the functions run against, and a fresh event for every invocation."""

    def __init__(self, database_url: str, sqs: Any, queues: dict[str, str], data_root: Path) -> None:
        import asyncio
        from datetime import timedelta

        from jobu.store import open_store

        self.url, self.sqs, self.queues, self.data_root = database_url, sqs, queues, data_root
        # the pipeline's input: a small CSV of typed rows
        rows = "".join(f"{i},customer-{i},{i}.50,EUR\n" for i in range(1, CSV_ROWS + 1))
        self.csv = data_root / "orders.csv"
        self.csv.write_text("order_id,customer,amount,currency\n" + rows)
        self.loop = asyncio.new_event_loop()
        self.store = self.loop.run_until_complete(open_store(database_url))
        self.loop.run_until_complete(self.store.migrate())
        self.offset = 0
        self.first_tick = self.slot() - timedelta(hours=5)
        self.ticks = 0
        self.cron_jobs: list[int] = []

    @staticmethod
    def slot() -> Any:
        from datetime import UTC, datetime

        return datetime.now(UTC).replace(second=0, microsecond=0)

    def close(self) -> None:
        self.loop.run_until_complete(self.store.close())
        self.loop.close()

    def events(self, kind: str, count: int) -> list[dict[str, Any]]:
        # the jobs of earlier cron events are no longer due: their ticks ran, or the events went
        # to a floor process that never ticks
        now = self.slot()
        for job_id in self.cron_jobs:
            job = self.loop.run_until_complete(self.store.cron_jobs.get(job_id))
            assert job is not None  # the bench made it
            self.loop.run_until_complete(
                self.store.cron_jobs.set_enabled(job, enabled=False, next_run_at=now, now=now)
            )
        self.cron_jobs.clear()
        return [getattr(self, f"_{kind}")() for _ in range(count)]

    def _cron_dispatcher(self) -> dict[str, Any]:
        from datetime import timedelta

        from jobu.specs import CronJobSpec

        # a job of its own for each tick, due only at that tick's minute (a yearly expression), and
        # ticks a minute apart from five hours before the bench started (a tick may be up to six
        # hours late): each tick creates one run and sends its message, though the events are
        # made before the process that runs them starts
        self.ticks += 1
        tick = self.first_tick + timedelta(minutes=self.ticks)
        spec = CronJobSpec(
            name=f"cold-start-{self.ticks}",
            cron_expression=f"{tick.minute} {tick.hour} {tick.day} {tick.month} *",
            handler_name="sample",
        )
        job = self.loop.run_until_complete(self.store.cron_jobs.insert(spec, next_run_at=tick, now=tick))
        self.cron_jobs.append(job.id)
        return {"scheduled_time": tick.isoformat().replace("+00:00", "Z")}

    def _queue_dispatcher(self) -> dict[str, Any]:
        import base64

        self.offset += 1
        value = json.dumps({"handler_name": "sample", "params": {"id": self.offset}, "job_id": None})
        record = {
            "topic": "jobu-events",
            "partition": 0,
            "offset": self.offset,
            "timestamp": int(time.time() * 1000),
            "timestampType": "CREATE_TIME",
            "key": None,
            "value": base64.b64encode(value.encode()).decode(),
            "headers": [],
        }
        arn = "arn:aws:kafka:us-east-1:000000000000:cluster/jobu/00000000-0000-0000-0000-000000000000-1"
        return {"eventSource": "aws:kafka", "eventSourceArn": arn, "records": {"jobu-events-0": [record]}}

    def _worker(self) -> dict[str, Any]:
        from datetime import UTC, datetime

        from bench.runs import sample_run
        from tests.support.lambda_events import sqs_event

        self.offset += 1
        run = sample_run(self.offset, "cold-start-worker")
        (created,) = self.loop.run_until_complete(self.store.runs.insert_events([run], now=datetime.now(UTC)))
        body = json.dumps({"execution_id": created.id, "attempt": 0})
        message = {"MessageId": f"m-{created.id}", "ReceiptHandle": "h", "Body": body}
        return sqs_event([message], "arn:aws:sqs:us-east-1:000000000000:jobu-work")

    def _pipeline_worker(self) -> dict[str, Any]:
        from datetime import UTC, datetime

        from jobu.models import NewExecution
        from tests.support.lambda_events import sqs_event

        self.offset += 1
        params = {
            "input_path": str(self.csv),
            "output_path": str(self.data_root / f"out-{self.offset}.parquet"),
        }
        run = NewExecution(
            job_id=None,
            handler_name="pandas_preprocess",
            params=params,
            param_source="event",
            max_retry=0,
            timeout_seconds=50,
            source_topic="cold-start-pipeline",
            source_partition=0,
            source_offset=self.offset,
        )
        (created,) = self.loop.run_until_complete(self.store.runs.insert_events([run], now=datetime.now(UTC)))
        body = json.dumps({"execution_id": created.id, "attempt": 0})
        message = {"MessageId": f"m-{created.id}", "ReceiptHandle": "h", "Body": body}
        event = sqs_event([message], "arn:aws:sqs:us-east-1:000000000000:jobu-pipeline")
        # the floor converts the same file
        event["csv"], event["parquet"] = str(self.csv), params["output_path"] + ".floor"
        return event

    def _admin_api(self) -> dict[str, Any]:
        from tests.support.lambda_events import admin_jobs_page_event

        return admin_jobs_page_event()


def measure(args: argparse.Namespace) -> tuple[dict[str, list[dict[str, Any]]], dict[str, dict[str, Any]]]:
    from bench.function_process import pool_queues, sqs_client

    sqs = sqs_client()
    with pool_queues(sqs, "jobu-cold-start") as queues:
        return measured(args, sqs, queues)


def measured(
    args: argparse.Namespace, sqs: Any, queues: dict[str, str]
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, dict[str, Any]]]:
    from bench.function_process import run_child
    from bench.scratch_database import fresh_postgres_sync

    with (
        fresh_postgres_sync("cold_start") as url,
        tempfile.TemporaryDirectory(prefix="jobu-cold-start-") as scratch,
    ):
        data_root = Path(scratch) / "data"
        data_root.mkdir(mode=0o700)
        fixture = Fixture(url, sqs, queues, data_root)
        try:
            runs: dict[str, list[dict[str, Any]]] = {}
            for round_number in range(args.repeat):
                for kind in FUNCTIONS:
                    env = environment(kind, url, queues, str(data_root))

                    def ours(kind: str = kind) -> dict[str, Any]:
                        return {"events": fixture.events(kind, 1)}

                    def floor(kind: str = kind) -> dict[str, Any]:
                        event = fixture.events(kind, 1)[0]
                        return {
                            "database_url": url,
                            "queue_url": queues["work-default"],
                            "event": event,
                            "csv": event.get("csv"),
                            "parquet": event.get("parquet"),
                        }

                    # a pair back to back, in turns first: the load of the moment falls on both
                    # (each one's event is made just before it runs: a cron event retires the
                    # jobs of the events before it)
                    pair = [(kind, ours), (f"floor:{kind}", floor)]
                    for name, inputs in pair if round_number % 2 == 0 else pair[::-1]:
                        runs.setdefault(name, []).append(run_child(__file__, name, inputs(), env))
            warm = {
                kind: run_child(
                    __file__,
                    kind,
                    {"events": fixture.events(kind, 1 + args.warm)},
                    environment(kind, url, queues, str(data_root)),
                )
                for kind in FUNCTIONS
            }
            if args.instructions:
                warm[INSTRUCTIONS] = count_instructions(fixture, url, queues, data_root)
        finally:
            fixture.close()
    return runs, warm


INSTRUCTIONS = "instructions"


def count_instructions(fixture: Fixture, url: str, queues: dict[str, str], data_root: Path) -> dict[str, int]:
    """Instructions each function's child and its floor's execute, counted by valgrind's callgrind
    (the same for the same work whatever else the machine runs, unlike seconds), less those of a
    child that only starts (the interpreter and this harness). Hash seeds fixed: the same dicts in
    the same order in every process."""
    import shutil

    from bench.function_process import run_child

    if shutil.which("valgrind") is None:
        raise RuntimeError("valgrind is not installed (apt-get install valgrind), or pass --no-instructions")
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="jobu-callgrind-") as folder:

        def counted(name: str, kind: str, inputs: dict[str, Any]) -> int:
            out = Path(folder) / name.replace(":", "-")
            wrapper = ("valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-line=no")
            env = environment(kind, url, queues, str(data_root)) | {"PYTHONHASHSEED": "0"}
            run_child(__file__, name, inputs, env, wrapper)
            return callgrind_total(out)

        start_up = counted(EMPTY, "worker", {})
        for kind in FUNCTIONS:
            counts[kind] = counted(kind, kind, {"events": fixture.events(kind, 1)}) - start_up
            event = fixture.events(kind, 1)[0]
            inputs = {
                "database_url": url,
                "queue_url": queues["work-default"],
                "event": event,
                "csv": event.get("csv"),
                "parquet": event.get("parquet"),
            }
            counts[f"floor:{kind}"] = counted(f"floor:{kind}", kind, inputs) - start_up
        counts[EMPTY] = start_up
    return counts


def callgrind_total(path: Path) -> int:
    """The instructions a callgrind run executed (its `totals:` line; `summary:` in older files)."""
    for line in path.read_text().splitlines():
        if line.startswith(("totals:", "summary:")):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {path}")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def medians(results: list[dict[str, Any]]) -> dict[str, float]:
    parts = {part: statistics.median(r[part] for r in results) for part in ("import", "first")}
    return parts | {"total": parts["import"] + parts["first"]}


def paired_ratio(ours: list[dict[str, Any]], floor: list[dict[str, Any]]) -> float:
    """The median of each pair's ratio: a pair ran back to back, so a moment's load on a shared
    machine counts on both sides of its ratio (the medians of each side drift apart with it)."""
    ratios: list[float] = [
        (mine["import"] + mine["first"]) / (base["import"] + base["first"])
        for mine, base in zip(ours, floor, strict=True)
    ]
    return statistics.median(ratios)


def report(args: argparse.Namespace, runs: dict[str, list[dict[str, Any]]], warm: dict[str, Any]) -> None:
    from bench.table import figure

    db, aws = "5432", ENDPOINT.rsplit(":", 1)[-1]  # the ports connects are counted by (JSON keys)
    bytecode = "compiled from source (no .pyc)" if args.no_bytecode else "from bytecode"
    print(
        f"import + first invocation, a fresh process each, {bytecode}, medians of {args.repeat}; "
        "ratio: the median of the pairs' ratios (each pair ran back to back)"
    )
    heading = ("function", "import", "first", "total", "| import", "first", "floor", "ratio")
    print("{:<18}{:>9}{:>9}{:>9}{:>11}{:>9}{:>9}{:>7}".format(*heading))
    ratios, totals = {}, {}
    for kind in FUNCTIONS:
        ours, floor = medians(runs[kind]), medians(runs[f"floor:{kind}"])
        ratios[kind] = paired_ratio(runs[kind], runs[f"floor:{kind}"])
        totals[kind] = (ours["total"], floor["total"])
        print(
            f"{kind:<18}{ms(ours['import']):>9}{ms(ours['first']):>9}{ms(ours['total']):>9}  |"
            f"{ms(floor['import']):>9}{ms(floor['first']):>9}{ms(floor['total']):>9}{ratios[kind]:>7.2f}"
        )
    print(f"TCP connections opened (socket connects to the database :{db} and the AWS endpoint :{aws}):")
    for kind in FUNCTIONS:
        first, later = warm[kind]["first_connects"], warm[kind]["warm_connects"]
        print(
            f"  {kind:<18} first invocation: database {first.get(db, 0)}, AWS {first.get(aws, 0)};"
            f" {warm[kind]['warm_invocations']} warm ones: database {later.get(db, 0)},"
            f" AWS {later.get(aws, 0)};"
            f" pool size {warm[kind]['pool_size']}; warm p50 {warm[kind]['warm_p50'] * 1000:.1f} ms"
        )
    counts: dict[str, int] | None = warm.get(INSTRUCTIONS)
    if counts is not None:
        print(
            "instructions (valgrind callgrind, one process each, less the "
            f"{counts[EMPTY] / 1e6:.0f} M of a child that only starts; repeatable under any load):"
        )
        for kind in FUNCTIONS:
            ours_count, floor_count = counts[kind], counts[f"floor:{kind}"]
            print(
                f"  {kind:<18}{ours_count / 1e6:>9.0f} M  | floor {floor_count / 1e6:>6.0f} M"
                f"  {ours_count / floor_count:>5.2f}"
            )
    worst = max(ratios, key=lambda kind: ratios[kind])
    for kind in FUNCTIONS:
        floor_parts = "boto3 + Powertools + asyncpg" + (" + pyarrow" if kind == "pipeline_worker" else "")
        figure(
            f"cold start: import + first invocation, {LOGICAL_IDS[kind]}",
            ms(totals[kind][0]),
            f"{floor_parts}, same calls: {ms(totals[kind][1])}",
            f"{ratios[kind]:.2f}x",
            TARGETS.get(kind, "<= 1.3x"),
        )
        if counts is not None:
            figure(
                f"cold start, instructions (callgrind): {LOGICAL_IDS[kind]}",
                f"{counts[kind] / 1e6:.0f} M",
                f"{floor_parts}: {counts[f'floor:{kind}'] / 1e6:.0f} M",
                f"{counts[kind] / counts[f'floor:{kind}']:.2f}x",
                TARGETS.get(kind, "<= 1.3x"),
            )
    opened = sum(warm[kind]["warm_connects"].get(db, 0) for kind in FUNCTIONS)
    warm_figure = f"database connections opened in {args.warm} warm invocations (each function)"
    figure(warm_figure, str(opened), "-", "-", "0")
    print(f"ratio {ratios[worst]:.2f}")


def main() -> None:
    global FUNCTIONS  # noqa: PLW0603  (--only)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--warm", type=int, default=100)
    parser.add_argument(
        "--no-bytecode",
        action="store_true",
        help="every process compiles from source, as Lambda did before the layers shipped .pyc files",
    )
    parser.add_argument(
        "--no-instructions",
        dest="instructions",
        action="store_false",
        help="skip the instruction counts (valgrind's callgrind, about a minute a process)",
    )
    parser.add_argument("--only", nargs="+", choices=FUNCTIONS, help="measure these functions only")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, json.loads(sys.stdin.read()))))
        return
    subprocess.run([str(ROOT / "scripts" / "localstack.sh")], check=True, stdout=subprocess.DEVNULL)
    if args.no_bytecode:
        os.environ["JOBU_BENCH_NO_BYTECODE"] = "1"
    if args.only:  # a run of some functions: every loop reads FUNCTIONS
        FUNCTIONS = tuple(kind for kind in FUNCTIONS if kind in args.only)
    runs, warm = measure(args)
    report(args, runs, warm)


if __name__ == "__main__":
    main()
