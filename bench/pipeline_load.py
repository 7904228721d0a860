"""Parquet -> PostgreSQL: db_loader (COPY) against the limit, the server's own COPY FROM a file.

    .venv/bin/python bench/pipeline_load.py [--rows 100000] [--repeat 5] [--mysql]
    (server: JOBU_BENCH_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/postgres, on
     this machine: the server reads the baseline's file itself; with --mysql also
     JOBU_BENCH_MYSQL_URL, default mysql://root@127.0.0.1:3306)

Every side loads the same rows into the same table (primary key, six columns) of a scratch
database in one transaction:
- db_loader (ours) streams the Parquet file as CSV through COPY ... FROM STDIN;
- server-side COPY (the limit for any client-side load): the same rows as a CSV file the server
  reads itself with COPY ... FROM '<file>' (the file is written beforehand, not timed);
- asyncpg `executemany` INSERT (for information): the file read into Python rows, the INSERTs
  pipelined.
The table is emptied between runs (not timed).

Each measurement runs in a fresh child process with its peak-RSS mark reset after imports, so
the peak is that run's alone. Each round runs db_loader and the server's COPY back to back (in
turns first); the ratio is the median of the rounds' ratios, --repeat rounds (5: single rounds on
two shared cores move between 0.4 and 1.9). The last line is `ratio <ours/server-side COPY>`
(rows/s; the target is >= 0.85). With --mysql, db_loader's LOAD
DATA LOCAL INFILE and multi-row INSERT paths are also timed (in-process, for information).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped, unused-ignore]

from bench.process_memory import measure_in_child, memory_mb, reset_peak
from bench.table import figure
from tests.support.pipeline import execute

ADMIN_URL = os.environ.get("JOBU_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CREATE_TABLE = """CREATE TABLE sales (
    order_id BIGINT PRIMARY KEY, customer TEXT NOT NULL, amount NUMERIC(12, 2) NOT NULL,
    currency CHAR(3) NOT NULL, ordered_at TIMESTAMP NOT NULL, note TEXT)"""
COLUMNS = ["order_id", "customer", "amount", "currency", "ordered_at", "note"]
MYSQL_ADMIN_URL = os.environ.get("JOBU_BENCH_MYSQL_URL", "mysql://root@127.0.0.1:3306")
MYSQL_TABLE = """(order_id BIGINT PRIMARY KEY, customer TEXT NOT NULL, amount DECIMAL(12, 2) NOT NULL,
    currency CHAR(3) NOT NULL, ordered_at DATETIME(6) NOT NULL, note TEXT) ENGINE=InnoDB"""
INSERT = f"INSERT INTO sales ({', '.join(COLUMNS)}) VALUES ($1, $2, $3, $4, $5, $6)"


def generate(path: Path, rows: int) -> None:
    """Rows as pydantic_validator writes them for the `sale` model."""
    from decimal import Decimal

    import numpy as np
    import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
    import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]

    gift_wrap = "gift wrap"
    rng = np.random.default_rng(7)
    cents = rng.integers(0, 50_000, rows)
    table = pa.table(
        {
            "order_id": pa.array(np.arange(1, rows + 1), pa.int64()),
            "customer": pa.array(np.char.add("customer-", rng.integers(0, 50_000, rows).astype(str))),
            "amount": pa.array([Decimal(int(c)) / 100 for c in cents], pa.decimal128(12, 2)),
            "currency": pa.array(np.array(["EUR", "USD", "GBP"])[rng.integers(0, 3, rows)]),
            "ordered_at": pa.array(1_767_225_600_000_000 + rng.integers(0, 10**13, rows), pa.timestamp("us")),
            "note": pa.array([gift_wrap if gift else None for gift in (rng.random(rows) < 0.1).tolist()]),
        }
    )
    pq.write_table(table, str(path))


async def baseline(source: Path, url: str) -> int:
    import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]

    table = pq.read_table(str(source), columns=COLUMNS)
    rows = list(zip(*(column.to_pylist() for column in table.columns), strict=True))
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.executemany(INSERT, rows)
    finally:
        await conn.close()
    return len(rows)


async def server_copy(source: Path, url: str) -> int:
    """The server reads the CSV beside the Parquet file itself: no rows cross the connection."""
    conn = await asyncpg.connect(url)
    try:
        copy = f"COPY sales ({', '.join(COLUMNS)}) FROM '{csv_beside(source)}' WITH (FORMAT csv, HEADER true)"
        async with conn.transaction():
            done = await conn.execute(copy)
    finally:
        await conn.close()
    return int(str(done).rsplit(" ", 1)[-1])


def csv_beside(source: Path) -> Path:
    return source.with_suffix(".csv")


def write_csv(source: Path) -> None:
    """The Parquet file's rows as CSV (empty unquoted fields are NULL), readable by the server."""
    import pyarrow.csv as pacsv  # type: ignore[import-untyped, unused-ignore]
    import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]

    target = csv_beside(source)
    pacsv.write_csv(pq.read_table(str(source), columns=COLUMNS), str(target))
    target.chmod(0o644)  # the server runs as its own user
    target.parent.chmod(0o755)


async def ours(source: Path, url: str) -> int:
    from tests.support.pipeline import allow, run_step

    result = await run_step(
        "db_loader",
        {"input_path": str(source), "table": "sales"},
        database_url=url,
        access=allow(source.parent, ("sales",)),
    )
    return int(result.model_dump()["rows_loaded"])


def child(kind: str, source: Path, url: str) -> dict[str, Any]:
    """One measurement, in this (fresh) process."""
    # imports are not measured
    import pyarrow.parquet  # type: ignore[import-untyped, unused-ignore]  # noqa: F401

    from jobu_handlers.pipeline import bulk_load  # noqa: F401
    from tests.support import pipeline  # noqa: F401

    reset_peak()
    before = memory_mb("VmRSS")
    started = time.perf_counter()
    load = {"baseline": baseline, "ours": ours, "server_copy": server_copy}[kind]
    loaded = asyncio.run(load(source, url))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": loaded, "rss_before_mb": before, "peak_rss_mb": memory_mb("VmHWM")}


def measure(kind: str, source: Path, url: str) -> dict[str, Any]:
    return measure_in_child(__file__, "--child", kind, "--source", str(source), "--url", url)


async def mysql_methods(source: Path, rows: int, repeat: int) -> None:
    """Informational: db_loader's two MySQL/MariaDB paths on the same file (--mysql)."""
    import asyncmy

    from jobu.store.mysql import connect_kwargs
    from tests.support.pipeline import allow, run_step

    name = f"jobu_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncmy.connect(**connect_kwargs(MYSQL_ADMIN_URL), autocommit=True)
    url = f"{MYSQL_ADMIN_URL.rstrip('/')}/{name}"  # the admin URL names no database
    try:
        async with admin.cursor() as cursor:
            await cursor.execute(f"CREATE DATABASE `{name}`")
            await cursor.execute(f"CREATE TABLE `{name}`.sales {MYSQL_TABLE}")
        for method in ("load_data", "insert"):
            times = []
            for _ in range(repeat):
                async with admin.cursor() as cursor:
                    await cursor.execute(f"TRUNCATE `{name}`.sales")
                started = time.perf_counter()
                params = {"input_path": str(source), "table": "sales", "mysql_method": method}
                await run_step("db_loader", params, database_url=url, access=allow(source.parent, ("sales",)))
                times.append(time.perf_counter() - started)
            seconds = statistics.median(times)
            print(
                f"{'db_loader MySQL ' + method:28s} {rows / seconds:>12,.0f} rows/s  (median {seconds:.3f} s)"
            )
    finally:
        async with admin.cursor() as cursor:
            await cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


def run(source: Path, url: str, rows: int, repeat: int) -> tuple[dict[str, float], float]:
    """Each side's rate (from its median time), and the ratio: the median of the rounds' own
    ratios, each round db_loader and the server's COPY back to back, in turns first, so the load a
    shared machine has at a moment falls on both sides of that round's ratio."""
    asyncio.run(execute(url, CREATE_TABLE))
    runs: dict[str, list[dict[str, Any]]] = {"server_copy": [], "ours": [], "baseline": []}

    def one(kind: str) -> dict[str, Any]:
        asyncio.run(execute(url, "TRUNCATE sales"))
        measured = measure(kind, source, url)
        if measured["rows"] != rows:
            raise RuntimeError(f"{kind} loaded {measured['rows']} rows, not {rows}")
        runs[kind].append(measured)
        return measured

    ratios = []
    for round_number in range(repeat):
        pair = ["server_copy", "ours"] if round_number % 2 == 0 else ["ours", "server_copy"]
        seconds = {kind: one(kind)["seconds"] for kind in pair}
        ratios.append(seconds["server_copy"] / seconds["ours"])
    for _ in range(repeat):  # executemany, for information: heavy, so after the pairs
        one("baseline")
    rates = {}
    for kind, label in (
        ("server_copy", "server-side COPY FROM a file"),
        ("ours", "db_loader (COPY FROM STDIN)"),
        ("baseline", "asyncpg executemany INSERT"),
    ):
        seconds = statistics.median(run["seconds"] for run in runs[kind])
        peak = max(run["peak_rss_mb"] for run in runs[kind])
        grown = max(run["peak_rss_mb"] - run["rss_before_mb"] for run in runs[kind])
        rates[kind] = rows / seconds
        print(
            f"{label:28s} {rates[kind]:>12,.0f} rows/s  (median {seconds:.3f} s of {repeat};"
            f" peak RSS {peak:.0f} MB, +{grown:.0f} MB over imports)"
        )
    print(f"rounds' ratios (server COPY's time / db_loader's): {', '.join(f'{r:.2f}' for r in ratios)}")
    return rates, statistics.median(ratios)


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--mysql", action="store_true", help="also time db_loader's two MySQL paths")
    parser.add_argument("--child", choices=["baseline", "ours", "server_copy"], help=argparse.SUPPRESS)
    parser.add_argument("--source", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.source, args.url)))
        return

    name = f"jobu_bench_{uuid.uuid4().hex[:12]}"
    asyncio.run(execute(ADMIN_URL, f'CREATE DATABASE "{name}"'))
    try:
        with tempfile.TemporaryDirectory(prefix="jobu-bench-load-") as scratch:
            source = Path(scratch) / "sales.parquet"
            generate(source, args.rows)
            write_csv(source)
            size = source.stat().st_size / 1e6
            print(f"input: {args.rows:,} rows, {size:.1f} MB Parquet; PostgreSQL database {name}")
            rates, ratio = run(source, ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", args.rows, args.repeat)
            if args.mysql:
                asyncio.run(mysql_methods(source, args.rows, args.repeat))
    finally:
        asyncio.run(execute(ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(f"db_loader / executemany: {rates['ours'] / rates['baseline']:.1f}x")
    figure(
        f"Parquet -> PostgreSQL, {args.rows:,} rows",
        f"db_loader COPY: {rates['ours']:,.0f} rows/s",
        f"server-side COPY FROM a file: {rates['server_copy']:,.0f} rows/s",
        f"{ratio:.2f}",
        ">= 0.85",
    )
    print(f"ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
