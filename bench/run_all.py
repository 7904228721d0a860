"""`make bench`: every performance benchmark (issues 14 and 24: the bill is one), then one table of
their figures.

Each script runs as it would alone (its own output is shown as it goes); its `figure {...}` lines
(bench/table.py) become the table's rows: figure / ours / floor or baseline / ratio / target. A
script that fails, or whose last line is not `ratio X`, is a row that says so, and the exit
status is 1.

    .venv/bin/python bench/run_all.py [--only worker cold_start ...]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

from bench.table import Figure, figures

BENCH = Path(__file__).resolve().parent
# In the order.
SCRIPTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cron_tick", ()),
    ("worker", ()),
    ("limits", ()),
    ("cold_start", ()),
    ("queue_dispatch", ()),
    ("enqueue_batch", ()),
    ("batch_create", ()),
    ("pipeline_load", ()),
    ("cost", ()),
)
RATIO = re.compile(r"ratio [0-9]+(\.[0-9]+)?")


def run(name: str, arguments: tuple[str, ...]) -> tuple[list[Figure], bool]:
    script = BENCH / f"{name}.py"
    if not script.exists():
        return [Figure(name, f"bench/{name}.py not found", "", "", "")], False
    print(f"== bench/{name}.py", flush=True)
    lines = []
    with subprocess.Popen(
        [sys.executable, str(script), *arguments], stdout=subprocess.PIPE, text=True, cwd=BENCH.parent
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            print(line, end="", flush=True)
            lines.append(line.rstrip("\n"))
    status = process.returncode
    last = lines[-1] if lines else ""
    if status != 0 or not RATIO.fullmatch(last):
        why = f"exit status {status}" if status != 0 else f"last line is not `ratio X`: {last!r}"
        return [Figure(name, f"FAILED ({why})", "", "", "")], False
    return figures("\n".join(lines)), True


def table(rows: list[Figure]) -> str:
    header = "| figure | ours | floor or baseline, same run | ratio | target |\n|---|---|---|---|---|"
    body = [f"| {r.figure} | {r.ours} | {r.floor} | {r.ratio} | {r.target} |" for r in rows]
    return "\n".join([header, *body])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", nargs="+", choices=[name for name, _ in SCRIPTS])
    args = parser.parse_args()
    rows: list[Figure] = []
    ok = True
    for name, arguments in SCRIPTS:
        if args.only and name not in args.only:
            continue
        found, succeeded = run(name, arguments)
        rows += found
        ok = ok and succeeded
    print()
    print(table(rows))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
