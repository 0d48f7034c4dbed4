"""RateLimiter (GCRA, no burst): exact numbers on a FakeClock."""

from __future__ import annotations

import threading
import time

import pytest

from dbt_lambda_sync.engine.clock import Clock, SystemClock
from dbt_lambda_sync.engine.limiter import RateLimiter
from tests.support.clock import FakeClock


def wait_for_slot(limiter: RateLimiter, clock: Clock) -> None:
    """Reserve a slot and sleep until it comes, as the runner's workers do."""
    delay = limiter.reserve()
    if delay > 0:
        clock.sleep(delay)


def test_slots_are_evenly_spaced_and_the_first_is_immediate() -> None:
    limiter = RateLimiter(10, 1.0, clock=FakeClock(start=1000.0))
    assert [limiter.reserve() for _ in range(4)] == pytest.approx([0.0, 0.1, 0.2, 0.3])


def test_no_initial_burst_bigger_than_one() -> None:
    clock = FakeClock()
    limiter = RateLimiter(100, 60.0, clock=clock)  # 100 per minute: one every 0.6 s
    wait_for_slot(limiter, clock)
    wait_for_slot(limiter, clock)
    assert clock.sleeps == [pytest.approx(0.6)]
    assert clock.monotonic() == pytest.approx(0.6)


def test_fifty_per_second_held_for_ten_seconds_is_within_five_percent() -> None:
    clock = FakeClock()
    limiter = RateLimiter(50, 1.0, clock=clock)
    stamps = []
    for _ in range(501):
        wait_for_slot(limiter, clock)
        stamps.append(clock.monotonic())
    # 501 acquisitions span 500 intervals of 20 ms: exactly 10 s.
    assert stamps[-1] - stamps[0] == pytest.approx(10.0)
    for window_start in (0.0, 2.5, 5.0):
        in_window = [t for t in stamps if window_start <= t < window_start + 5.0]
        assert abs(len(in_window) / 5.0 - 50) <= 50 * 0.05
    assert all(s == pytest.approx(0.02) for s in clock.sleeps)


def test_idle_time_is_not_banked_as_burst() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, 1.0, clock=clock)
    limiter.reserve()
    clock.advance(60.0)  # a minute idle
    assert [limiter.reserve() for _ in range(3)] == pytest.approx([0.0, 0.1, 0.2])


def test_time_already_waited_counts_towards_the_next_slot() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, 1.0, clock=clock)
    assert limiter.reserve() == 0.0
    clock.advance(0.04)
    assert limiter.reserve() == pytest.approx(0.06)


def test_hourly_limit() -> None:
    limiter = RateLimiter(100, 3600.0, clock=FakeClock())
    assert limiter.interval == pytest.approx(36.0)
    assert [limiter.reserve() for _ in range(3)] == pytest.approx([0.0, 36.0, 72.0])


def test_concurrent_callers_each_get_a_distinct_slot() -> None:
    limiter = RateLimiter(50, 1.0, clock=FakeClock())  # time stands still: only slots move
    delays: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        mine = [limiter.reserve() for _ in range(100)]
        with lock:
            delays.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(delays) == pytest.approx([i * 0.02 for i in range(800)])


def test_acquire_really_waits_on_the_system_clock() -> None:
    clock = SystemClock()
    limiter = RateLimiter(200, 1.0, clock=clock)  # 5 ms apart
    started = time.monotonic()
    threads = [
        threading.Thread(target=lambda: [wait_for_slot(limiter, clock) for _ in range(5)])
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 20 acquisitions = 19 intervals of 5 ms after the first.
    assert time.monotonic() - started >= 19 * 0.005 * 0.95


@pytest.mark.parametrize(("requests", "period"), [(0, 1.0), (-1, 1.0), (1, 0.0), (1, -5.0)])
def test_rejects_nonsense_limits(requests: int, period: float) -> None:
    with pytest.raises(ValueError):
        RateLimiter(requests, period, clock=FakeClock())
