"""Retry backoff: exponential, capped, jittered."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from jobu.config import RetryPolicy
from jobu.errors import RetryAfter
from jobu.retries import backoff_seconds

POLICY = RetryPolicy(base=timedelta(seconds=10), max=timedelta(seconds=900))


@pytest.mark.parametrize(
    ("retry", "ceiling"), [(0, 10), (1, 20), (2, 40), (5, 320), (6, 640), (7, 900), (70, 900)]
)
def test_each_wait_lies_between_half_and_all_of_its_exponential_ceiling(retry: int, ceiling: float) -> None:
    rng = random.Random(retry)
    waits = [backoff_seconds(retry, POLICY, rng) for _ in range(500)]
    assert all(ceiling / 2 <= wait <= ceiling for wait in waits)
    # jittered: runs that failed together do not come back together
    assert len({round(wait, 3) for wait in waits}) > 400
    assert min(waits) < ceiling * 0.55
    assert max(waits) > ceiling * 0.95


def test_the_cap_holds_for_a_base_bigger_than_it() -> None:
    tight = RetryPolicy(base=timedelta(seconds=30), max=timedelta(seconds=30))
    assert all(15 <= backoff_seconds(n, tight) <= 30 for n in range(10))


@pytest.mark.parametrize("seconds", [-1, 86_401])
def test_retry_after_takes_zero_to_a_day(seconds: float) -> None:
    with pytest.raises(ValueError, match="0 to 86400 seconds"):
        RetryAfter(seconds)


def test_retry_after_says_why() -> None:
    assert str(RetryAfter(60, "429 from the billing API")) == "retry after 60s: 429 from the billing API"
