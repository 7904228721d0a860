"""What checking params at the edge costs the queue dispatcher (jobu.params_schema).

Prints, each measured in fresh interpreters (median of --runs):
- the import time of fastjsonschema alone, and on top of what the queue dispatcher's entry
  point imports already (it is imported only when a record names a handler with a schema);
- the compile time of each schema in the manifest (once per container);
- the check per record, for a pipeline record with a two-link on_success chain, against the
  baseline of parsing that record's JSON (what the dispatcher does to every record anyway).

The last line is `ratio <check per record / JSON parse per record>`.

    .venv/bin/python bench/edge_check.py
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys

_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)$")

MEASURE = r"""
import json, time
from jobu.handler_manifest import _manifest
from jobu.params_schema import _validator, params_problem
for name in sorted(_manifest()["params_schemas"]):
    started = time.perf_counter(); _validator(name, False)
    print(f"compile {name} {(time.perf_counter() - started) * 1000:.2f}")
load = {"input_path": "clean/a.parquet", "table": "t"}
params = {"input_path": "raw/a.csv", "output_path": "clean/a.parquet", "dtypes": {"id": "int64"},
          "on_success": {"handler_name": "db_loader", "params": load}}
raw = json.dumps({"handler_name": "pandas_preprocess", "params": params, "job_id": None})
n = 20000
started = time.perf_counter()
for _ in range(n): params_problem("pandas_preprocess", params)
print(f"check {(time.perf_counter() - started) / n * 1e6:.2f}")
started = time.perf_counter()
for _ in range(n): json.loads(raw)
print(f"parse {(time.perf_counter() - started) / n * 1e6:.2f}")
"""


def top_level_import_us(code: str, module: str) -> int:
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], check=True, capture_output=True, text=True
    ).stderr
    for line in err.splitlines():
        match = _LINE.match(line)
        if match and match.group(4) == module and not match.group(3):
            return int(match.group(2))
    raise RuntimeError(f"{module} was not imported by {code!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    alone = [top_level_import_us("import fastjsonschema", "fastjsonschema") for _ in range(args.runs)]
    after = [
        top_level_import_us("import functions.queue_dispatcher.app, fastjsonschema", "fastjsonschema")
        for _ in range(args.runs)
    ]
    print(f"fastjsonschema import alone: {statistics.median(alone) / 1000:.1f} ms")
    print(f"fastjsonschema import after the queue dispatcher's: {statistics.median(after) / 1000:.1f} ms")
    figures: dict[str, list[float]] = {}
    for _ in range(args.runs):
        out = subprocess.run(
            [sys.executable, "-c", MEASURE], capture_output=True, text=True, check=True
        ).stdout
        for line in out.splitlines():
            name, _, value = line.rpartition(" ")
            figures.setdefault(name, []).append(float(value))
    for name, values in figures.items():
        if name.startswith("compile"):
            print(f"{name} (once per container): {statistics.median(values):.2f} ms")
    check, parse = statistics.median(figures["check"]), statistics.median(figures["parse"])
    print(f"check per record: {check:.2f} us; JSON parse of the same record: {parse:.2f} us")
    print(f"ratio {check / parse:.2f}")


if __name__ == "__main__":
    main()
