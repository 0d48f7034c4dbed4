"""RetryPolicy: exponential backoff with full jitter, floors from retryAfterSeconds."""

from __future__ import annotations

import random

import pytest

from dbt_lambda_sync.engine.retry import MAX_RETRY_AFTER_SECONDS, RetryPolicy
from tests.support.clock import FakeClock


class FixedRandom(random.Random):
    """``random()`` always returns ``value``: uniform(a, b) is then a + (b - a) * value."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


def test_should_retry_counts_retries_already_made() -> None:
    policy = RetryPolicy(attempts=3)
    assert [policy.should_retry(n) for n in range(5)] == [True, True, True, False, False]


def test_zero_attempts_never_retries() -> None:
    assert not RetryPolicy(attempts=0).should_retry(0)


def test_backoff_cap_doubles_up_to_max_delay() -> None:
    policy = RetryPolicy(attempts=10, base_delay=0.5, max_delay=30.0)
    caps = [policy.backoff_cap(n) for n in range(8)]
    assert caps == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert policy.backoff_cap(10_000) == 30.0  # no overflow
    assert policy.backoff_cap(-1) == 0.5


def test_delay_is_full_jitter_over_the_cap() -> None:
    assert RetryPolicy(attempts=5, rng=FixedRandom(0.5)).delay(3) == 2.0  # half of 4.0
    assert RetryPolicy(attempts=5, rng=FixedRandom(0.0)).delay(3) == 0.0
    assert RetryPolicy(attempts=5, rng=FixedRandom(0.25)).delay(0) == 0.125


def test_delay_sequence_is_reproducible_with_a_seeded_rng() -> None:
    policy = RetryPolicy(attempts=5, rng=random.Random(42))
    reference = random.Random(42)
    expected = [reference.uniform(0.0, cap) for cap in (0.5, 1.0, 2.0, 4.0, 8.0)]
    assert [policy.delay(n) for n in range(5)] == expected


def test_delay_stays_within_bounds() -> None:
    policy = RetryPolicy(attempts=10, base_delay=0.2, max_delay=5.0, rng=random.Random(7))
    for n in range(12):
        samples = [policy.delay(n) for _ in range(200)]
        assert min(samples) >= 0.0
        assert max(samples) <= policy.backoff_cap(n)


def test_retry_after_is_a_floor() -> None:
    policy = RetryPolicy(attempts=5, rng=FixedRandom(0.5))
    assert policy.delay(0, retry_after=3.0) == 3.0  # jitter would say 0.25
    assert policy.delay(6, retry_after=3.0) == 15.0  # jitter (half of 30) is already longer
    assert policy.delay(0, retry_after=None) == 0.25
    # Lambda may ask for more than max_delay: we still wait what it asks, up to max_retry_after.
    assert policy.delay(0, retry_after=45.0) == 45.0
    assert policy.delay(0, retry_after=120.0) == MAX_RETRY_AFTER_SECONDS


@pytest.mark.parametrize(
    ("retry_after", "too_long"),
    [(None, False), (0.0, False), (60.0, False), (60.5, True), (1e5, True), (float("inf"), True)],
)
def test_a_wait_past_max_retry_after_is_not_retried_in_the_run(retry_after, too_long) -> None:
    """Issue 10 item 7: Retry-After 1e5 (or inf) made a run wait a day (or forever)."""
    policy = RetryPolicy(attempts=5)
    assert policy.max_retry_after == MAX_RETRY_AFTER_SECONDS == 60.0
    assert policy.waits_too_long(retry_after) is too_long
    assert policy.delay(0, retry_after=retry_after) <= MAX_RETRY_AFTER_SECONDS
    assert RetryPolicy(attempts=1, max_retry_after=5).waits_too_long(6.0)


def test_a_retry_loop_on_a_fake_clock() -> None:
    """The loop the runner is expected to write, with exact waits and no real sleeping."""
    clock = FakeClock()
    policy = RetryPolicy(attempts=3, rng=FixedRandom(1.0))
    retry_after_hints = [None, 2.0, None, None]
    retries = 0
    while policy.should_retry(retries):
        clock.sleep(policy.delay(retries, retry_after=retry_after_hints[retries]))
        retries += 1
    assert retries == 3
    assert clock.sleeps == [0.5, 2.0, 2.0]
    assert clock.monotonic() == 4.5


@pytest.mark.parametrize(
    "kwargs",
    [
        {"attempts": -1},
        {"attempts": 1, "base_delay": -0.1},
        {"attempts": 1, "base_delay": 2.0, "max_delay": 1.0},
    ],
)
def test_rejects_nonsense_settings(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)
