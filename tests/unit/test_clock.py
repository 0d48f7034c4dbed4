"""The clocks: the real one (engine/clock.py) and the fake one the tests use (tests/support)."""

from __future__ import annotations

import time

import pytest

from dbt_lambda_sync.engine.clock import Clock, SystemClock
from tests.support.clock import FakeClock


def test_both_clocks_are_clocks() -> None:
    assert isinstance(SystemClock(), Clock) and isinstance(FakeClock(), Clock)


def test_the_system_clock_waits_and_never_goes_back() -> None:
    clock = SystemClock()
    before = clock.monotonic()
    clock.sleep(0.01)
    assert clock.monotonic() - before >= 0.009
    started = time.monotonic()
    clock.sleep(0)
    clock.sleep(-1)  # nothing to wait for
    assert time.monotonic() - started < 0.5


def test_the_fake_clock_records_sleeps_and_moves_at_once() -> None:
    clock = FakeClock(start=10.0)
    clock.sleep(1.5)
    clock.advance(2.0)  # time passing elsewhere: not a sleep
    clock.sleep(0.5)
    assert clock.monotonic() == 14.0
    assert clock.sleeps == [1.5, 0.5] and clock.total_slept == 2.0
    with pytest.raises(ValueError):
        clock.sleep(-1)
    with pytest.raises(ValueError):
        clock.advance(-1)
