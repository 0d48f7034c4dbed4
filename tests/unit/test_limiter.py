"""RateLimiter (GCRA, no burst) and ConcurrencyGate: exact numbers on a FakeClock."""

from __future__ import annotations

import threading
import time

import pytest

from dbt_lambda_sync.engine.clock import FakeClock, SystemClock
from dbt_lambda_sync.engine.limiter import ConcurrencyGate, RateLimiter

# --- RateLimiter ------------------------------------------------------------------------------


def test_slots_are_evenly_spaced_and_the_first_is_immediate() -> None:
    limiter = RateLimiter(10, 1.0, clock=FakeClock(start=1000.0))
    assert [limiter.reserve() for _ in range(4)] == pytest.approx([0.0, 0.1, 0.2, 0.3])


def test_no_initial_burst_bigger_than_one() -> None:
    clock = FakeClock()
    limiter = RateLimiter(100, 60.0, clock=clock)  # 100 per minute: one every 0.6 s
    limiter.acquire()
    limiter.acquire()
    assert clock.sleeps == [pytest.approx(0.6)]
    assert clock.monotonic() == pytest.approx(0.6)


def test_fifty_per_second_held_for_ten_seconds_is_within_five_percent() -> None:
    clock = FakeClock()
    limiter = RateLimiter(50, 1.0, clock=clock)
    stamps = []
    for _ in range(501):
        limiter.acquire()
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
    limiter = RateLimiter(200, 1.0, clock=SystemClock())  # 5 ms apart
    started = time.monotonic()
    threads = [
        threading.Thread(target=lambda: [limiter.acquire() for _ in range(5)]) for _ in range(4)
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


# --- ConcurrencyGate --------------------------------------------------------------------------


def test_gate_counts_in_flight_and_peak() -> None:
    gate = ConcurrencyGate(3)
    assert gate.acquire()
    assert gate.acquire()
    assert (gate.in_flight, gate.peak) == (2, 2)
    gate.release()
    assert (gate.in_flight, gate.peak) == (1, 2)
    with gate:
        assert gate.in_flight == 2
    assert (gate.in_flight, gate.peak) == (1, 2)


def test_gate_blocks_at_its_limit() -> None:
    gate = ConcurrencyGate(2)
    gate.acquire()
    gate.acquire()
    assert gate.acquire(timeout=0.01) is False
    assert gate.in_flight == 2
    gate.release()
    assert gate.acquire(timeout=0.01) is True


def test_gate_can_be_released_from_another_thread() -> None:
    gate = ConcurrencyGate(1)
    gate.acquire()
    releaser = threading.Thread(target=gate.release)
    releaser.start()
    releaser.join()
    assert gate.in_flight == 0
    assert gate.acquire(timeout=1)


def test_gate_over_release_is_an_error() -> None:
    gate = ConcurrencyGate(1)
    with pytest.raises(ValueError):
        gate.release()


def test_gate_peak_never_exceeds_limit_under_contention() -> None:
    gate = ConcurrencyGate(4)
    barrier_hit = threading.Event()

    def work() -> None:
        for _ in range(50):
            with gate:
                barrier_hit.wait(0.0005)

    threads = [threading.Thread(target=work) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert gate.peak == 4
    assert gate.in_flight == 0


def test_gate_rejects_a_zero_limit() -> None:
    with pytest.raises(ValueError):
        ConcurrencyGate(0)
