"""Worker throughput with a per-key limit that is never reached, against no limits, in the same run.

Ours: N `sample` runs (default 1,000) admitted under `per_key_concurrency` 1,000 (50 keys: the
limit is never reached, nothing ever waits) through the worker's entry point, in SQS events of 10
records, one invocation after another; each end of such a run takes the handler's limits row and
looks at its waiting line, in the outcome's transaction (jobu.store.limits). The floor: the same
runs of the same handler with no limits (the outcome one UPDATE), on the same pool of the same
container. The runs are made before each slice (not timed); the limits are set for ours and
cleared for the floor's. Ours and the floor take turns every 100 messages; medians of --repeat.
Also printed: the statements each run sent.

    .venv/bin/python bench/limits.py [--messages 1000] [--batch 10] [--pool-size 2] [--repeat 3]

Last line: `ratio X`, ours runs/s over the floor's (the issue's target: >= 0.9).
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
from contextlib import redirect_stdout
from dataclasses import replace
from datetime import UTC, datetime

from bench.runs import sample_run
from bench.scratch_database import fresh_postgres_sync
from bench.table import figure
from bench.worker import SLICE, Bench, configure
from bench.worker import timed as worker_timed
from jobu.limits import Limits

KEYS = 50
PER_KEY = 1000


class LimitsBench(Bench):
    limited = False

    def new_runs(self, count: int) -> list[int]:
        """PENDING event runs spread over KEYS concurrency keys, as the queue dispatcher writes
        them, under the limits set now (not timed)."""
        first = self._offset + 1
        self._offset += count
        runs = [
            replace(
                sample_run(i, "bench-limits", {"id": i, "name": f"item-{i}"}), concurrency_key=f"k{i % KEYS}"
            )
            for i in range(first, first + count)
        ]
        self.container.run(self._limit(self.limited))
        created = self.container.run(self.store.runs.insert_events(runs, now=datetime.now(UTC)))
        if len(created) != count:
            raise RuntimeError(
                f"{count - len(created)} of {count} runs were held back: the limit was reached"
            )
        return [run.id for run in created]

    async def _limit(self, on: bool) -> None:
        now = datetime.now(UTC)
        async with self.store.connector.transaction() as conn:
            if on:
                await self.store.limits.set(
                    "sample", Limits(per_key_concurrency=PER_KEY), now=now, updated_by="bench", conn=conn
                )
            else:
                await self.store.limits.clear("sample", now=now, updated_by="bench", conn=conn)


def timed(bench: LimitsBench, limited: bool, count: int) -> float:
    bench.limited = limited
    return worker_timed("limited" if limited else "no limits", bench.ours, bench, count)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--pool-size", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with fresh_postgres_sync("limits") as url:
        configure(url, args.pool_size)
        app = importlib.import_module("functions.worker.app")
        from jobu.observability import logger

        with open(os.devnull, "w") as devnull, redirect_stdout(devnull):
            logger.registered_handler.setStream(devnull)  # type: ignore[attr-defined]
            store = app.container.run(app.container.store())
            app.container.run(store.migrate())
            bench = LimitsBench(app, args.batch)
            timed(bench, True, 100)
            timed(bench, False, 100)
            times: dict[str, list[float]] = {"limited": [], "plain": []}
            for _ in range(args.repeat):
                spent = {"limited": 0.0, "plain": 0.0}
                for _ in range(0, args.messages, SLICE):
                    spent["limited"] += timed(bench, True, SLICE)
                    spent["plain"] += timed(bench, False, SLICE)
                times["limited"].append(spent["limited"])
                times["plain"].append(spent["plain"])
            bench.limited = True
            per_run = {"limited": bench.statements_per_run(bench.ours, 100)}
            bench.limited = False
            per_run["plain"] = bench.statements_per_run(bench.ours, 100)
            app.container.close()
            logger.registered_handler.setStream(sys.stdout)  # type: ignore[attr-defined]

    rates = {kind: args.messages / statistics.median(seconds) for kind, seconds in times.items()}
    print(
        f"messages: {args.messages} `sample` runs over {KEYS} keys, SQS batches of {args.batch}, "
        f"pool of {args.pool_size} (PostgreSQL), medians of {args.repeat}"
    )
    for kind, label in (("limited", f"per_key_concurrency {PER_KEY}"), ("plain", "no limits")):
        print(
            f"{label:<30} {rates[kind]:>8,.0f} runs/s  {per_run[kind]:.1f} statements per run "
            f"(times: {', '.join(f'{s:.3f}' for s in times[kind])} s)"
        )
    ratio = rates["limited"] / rates["plain"]
    figure(
        f"worker with a per-key limit never reached, {args.messages:,} `sample` messages",
        f"{rates['limited']:,.0f} runs/s, {per_run['limited']:.1f} statements per run",
        f"no limits: {rates['plain']:,.0f} runs/s, {per_run['plain']:.1f} statements per run",
        f"{ratio:.2f}",
        ">= 0.9",
    )
    print(f"ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
