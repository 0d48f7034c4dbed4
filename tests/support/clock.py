"""A clock for tests: ``sleep`` advances time at once, so limiter and backoff tests are exact."""

from __future__ import annotations

import threading


class FakeClock:
    """A clock for tests: ``sleep`` advances time instantly instead of waiting.

    Thread-safe; every sleep is recorded in ``sleeps`` (in call order) so tests can assert the
    exact waits a limiter or retry loop asked for. Concurrent sleepers are serialised: each sleep
    moves the shared time forward by its own length, so with several threads the clock ends at
    the sum of their sleeps, not the longest one. Exact multi-thread timing tests should assert
    on what was asked (``sleeps``, ``RateLimiter.reserve()``) rather than on the end time.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"sleep length must be non-negative, got {seconds}")
        with self._lock:
            self.sleeps.append(seconds)
            self._now += seconds

    def advance(self, seconds: float) -> None:
        """Move time forward without recording a sleep (time passing elsewhere)."""
        if seconds < 0:
            raise ValueError(f"cannot move a monotonic clock backwards ({seconds})")
        with self._lock:
            self._now += seconds

    @property
    def total_slept(self) -> float:
        with self._lock:
            return sum(self.sleeps)
