"""bench/cost.py's arithmetic: billed duration at a memory size, the bill of a path, the memory rule."""

from __future__ import annotations

import pytest

from bench.cost import (
    FULL_VCPU_MB,
    LAMBDA_PER_GB_SECOND,
    Measured,
    floor_bill,
    memory_rule,
    path_bill,
)


def measured(wall_ms: float, cpu_ms: float, *, runs: int, sends: float = 0.0, rss_mb: float = 40) -> Measured:
    return Measured(wall_ms / 1000, cpu_ms / 1000, sends, rss_mb, runs)


def test_the_cpu_part_stretches_below_a_whole_vcpu_and_the_waiting_does_not() -> None:
    invocation = measured(50, 10, runs=10)
    assert invocation.billed_seconds(FULL_VCPU_MB) == pytest.approx(0.050)
    assert invocation.billed_seconds(4096) == pytest.approx(0.050)  # one thread uses one vCPU at most
    # 50 ms wall, of which 10 ms CPU at 1769/512 = 3.46x: 50 + 10 x 2.455 = 74.55, billed 75 ms
    assert invocation.billed_seconds(512) == pytest.approx(0.075)


def test_a_paths_bill_adds_each_functions_requests_and_gb_seconds_and_sqs() -> None:
    found = {
        "worker": measured(60, 10, runs=10),
        "kafka-100": measured(100, 20, runs=100, sends=10),
        "floor": measured(40, 5, runs=10),
    }
    memories = {"worker": 1769, "queue_dispatcher": 1769}
    bill = path_bill(found, "kafka-100", "queue_dispatcher", memories, LAMBDA_PER_GB_SECOND["arm64"])
    gb_second = LAMBDA_PER_GB_SECOND["arm64"]
    expected = {
        "Lambda requests, QueueDispatcherFunction": 10_000 * 0.20 / 1e6,
        "Lambda GB-s, QueueDispatcherFunction (1769 MB)": 10_000 * 0.100 * 1769 / 1024 * gb_second,
        "Lambda requests, WorkerFunction": 100_000 * 0.20 / 1e6,
        "Lambda GB-s, WorkerFunction (1769 MB)": 100_000 * 0.060 * 1769 / 1024 * gb_second,
        # a send per 10 runs by the dispatcher, a receive and a delete per 10 by the worker's mapping
        "SQS: sends (0.10/run), receives and deletes (0.20/run)": 300_000 * 0.40 / 1e6,
    }
    assert bill.parts == pytest.approx(expected)
    floor = floor_bill(found, memories, gb_second)
    assert floor.total == pytest.approx(
        100_000 * 0.20 / 1e6 + 100_000 * 0.040 * 1769 / 1024 * gb_second + 0.08
    )


def test_the_enqueue_path_pays_an_http_api_request_per_run() -> None:
    found = {"worker": measured(60, 10, runs=10), "enqueue": measured(20, 5, runs=1, sends=1)}
    bill = path_bill(
        found, "enqueue", "admin_api", {"worker": 512, "admin_api": 512}, LAMBDA_PER_GB_SECOND["arm64"]
    )
    assert bill.parts["API Gateway HTTP API requests"] == pytest.approx(1.00)
    assert bill.parts["Lambda requests, AdminApiFunction"] == pytest.approx(0.20)


@pytest.mark.parametrize(
    ("wall_ms", "cpu_ms", "rss_mb", "chosen"),
    [
        (100, 10, 40, 256),  # mostly waiting: 256 MB runs 1.6x as long as a vCPU
        (60, 50, 40, 1024),  # mostly CPU: only 1,024 MB stays within twice
        (100, 10, 300, 1024),  # a big process needs twice its RSS
    ],
)
def test_memory_is_the_smallest_that_fits_twice_and_runs_at_most_twice_as_long(
    wall_ms: float, cpu_ms: float, rss_mb: float, chosen: int
) -> None:
    assert memory_rule(measured(wall_ms, cpu_ms, runs=1, rss_mb=rss_mb)) == chosen
