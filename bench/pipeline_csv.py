"""CSV -> Parquet: pandas_preprocess against plain pyarrow (read_csv -> write_table), same run.

    .venv/bin/python bench/pipeline_csv.py [--rows 1000000] [--repeat 3]

Both sides read the same generated CSV and write Snappy Parquet. The baseline only converts;
pandas_preprocess also does what a real run asks of it: declared column types, a null fill,
de-duplication on the key (pandas) and a rename, and it stages then publishes the output.

Each measurement runs in a fresh child process; after its imports the peak-RSS mark is reset,
so the peak reported is that run's (and "+N MB" its growth over the process as imported). The
time excludes interpreter start and imports. Runs alternate (baseline, ours, ...) and the median
counts. The last line is `ratio <ours/baseline>` (throughput; the target is >= 0.5).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.process_memory import measure_in_child, memory_mb, reset_peak

PARAMS: dict[str, Any] = {
    "dtypes": {
        "order_id": "int64",
        "customer": "string",
        "amount": "float64",
        "currency": "string",
        "ordered_at": "datetime",
        "note": "string",
    },
    "fill_nulls": {"amount": 0},
    "drop_duplicates": ["order_id"],
    "rename": {"ordered_at": "ordered"},
}


def generate(path: Path, rows: int) -> None:
    """A sales export: about 1% repeated order ids, 2% missing amounts, mostly empty notes."""
    import numpy as np
    import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
    import pyarrow.csv as pacsv  # type: ignore[import-untyped, unused-ignore]

    gift_wrap = "gift wrap"
    rng = np.random.default_rng(5)
    order_id = np.arange(1, rows + 1)
    repeated = rng.random(rows) < 0.01
    order_id[repeated] = rng.integers(1, rows + 1, int(repeated.sum()))
    amount = pa.array(np.round(rng.random(rows) * 500, 2), mask=rng.random(rows) < 0.02)
    table = pa.table(
        {
            "order_id": order_id,
            "customer": pa.array(np.char.add("customer-", rng.integers(0, 50_000, rows).astype(str))),
            "amount": amount,
            "currency": pa.array(np.array(["EUR", "USD", "GBP"])[rng.integers(0, 3, rows)]),
            "ordered_at": pa.array(1_767_225_600_000_000 + rng.integers(0, 10**13, rows), pa.timestamp("us")),
            "note": pa.array([gift_wrap if gift else None for gift in (rng.random(rows) < 0.1).tolist()]),
        }
    )
    pacsv.write_csv(table, str(path))


def child(kind: str, source: Path, target: Path) -> dict[str, Any]:
    """One measurement, in this (fresh) process."""
    # imports are not measured (the handler imports pandas on first use; pyarrow likewise)
    import pandas  # type: ignore[import-untyped, unused-ignore]  # noqa: F401
    import pyarrow.csv as pacsv  # type: ignore[import-untyped, unused-ignore]
    import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]

    from jobu_handlers.pipeline import csv_parquet  # noqa: F401
    from tests.support.pipeline import allow, run_step

    reset_peak()
    before = memory_mb("VmRSS")
    started = time.perf_counter()
    if kind == "baseline":
        table = pacsv.read_csv(str(source))
        pq.write_table(table, str(target))
        rows_out = table.num_rows
    else:
        params = {"input_path": str(source), "output_path": str(target), **PARAMS}
        access = allow(Path(os.path.commonpath([source, target])))
        result = asyncio.run(run_step("pandas_preprocess", params, access=access))
        rows_out = int(result.model_dump()["rows_out"])
    seconds = time.perf_counter() - started
    peak = memory_mb("VmHWM")
    return {"seconds": seconds, "rows_out": rows_out, "rss_before_mb": before, "peak_rss_mb": peak}


def measure(kind: str, source: Path, target: Path) -> dict[str, Any]:
    return measure_in_child(__file__, "--child", kind, "--source", str(source), "--target", str(target))


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", choices=["baseline", "ours"], help=argparse.SUPPRESS)
    parser.add_argument("--source", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--target", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.source, args.target)))
        return

    with tempfile.TemporaryDirectory(prefix="jobu-bench-csv-") as scratch:
        source = Path(scratch) / "sales.csv"
        generate(source, args.rows)
        print(f"input: {args.rows:,} rows, {source.stat().st_size / 1e6:.1f} MB CSV")
        runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "ours": []}
        for _ in range(args.repeat):
            for kind, measured in runs.items():
                measured.append(measure(kind, source, Path(scratch) / f"{kind}.parquet"))
        rates = {}
        for kind, label in (("baseline", "pyarrow read_csv -> write_table"), ("ours", "pandas_preprocess")):
            seconds = statistics.median(run["seconds"] for run in runs[kind])
            peak = max(run["peak_rss_mb"] for run in runs[kind])
            grown = max(run["peak_rss_mb"] - run["rss_before_mb"] for run in runs[kind])
            rates[kind] = args.rows / seconds
            print(
                f"{label:34s} {rates[kind]:>12,.0f} rows/s  (median {seconds:.3f} s of {args.repeat};"
                f" peak RSS {peak:.0f} MB, +{grown:.0f} MB over imports;"
                f" rows out {runs[kind][0]['rows_out']:,})"
            )
    print(f"ratio {rates['ours'] / rates['baseline']:.2f}")


if __name__ == "__main__":
    main()
