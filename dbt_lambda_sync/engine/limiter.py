"""Pacing of invocations: a rate limiter (requests per period).

The rate limiter is a GCRA (generic cell rate algorithm) with no burst allowance: slots are
``period_seconds / requests`` apart, the first one is immediate, and an idle limiter does not
bank unused slots. So ``100 per minute`` never fires 100 calls in the first second, which is
what a downstream API that enforces the same limit with a sliding window expects.
"""

from __future__ import annotations

import threading

from dbt_lambda_sync.engine.clock import Clock


class RateLimiter:
    """At most ``requests`` acquisitions per ``period_seconds``, evenly spaced. Thread-safe."""

    def __init__(self, requests: int, period_seconds: float, *, clock: Clock) -> None:
        if requests < 1:
            raise ValueError(f"requests must be >= 1, got {requests}")
        if period_seconds <= 0:
            raise ValueError(f"period_seconds must be > 0, got {period_seconds}")
        self.requests = requests
        self.period_seconds = float(period_seconds)
        self.interval = self.period_seconds / requests
        self._clock = clock
        self._lock = threading.Lock()
        # Theoretical arrival time of the next free slot; None until the first reservation so that
        # the first acquisition is immediate whatever the clock's origin.
        self._next_slot: float | None = None

    def reserve(self) -> float:
        """Claim the next free slot and return how long the caller must wait for it (>= 0).

        Never blocks: the caller sleeps the delay on its own clock. Each call claims a distinct
        slot, so concurrent callers are spread ``interval`` apart instead of all waking together.
        """
        with self._lock:
            now = self._clock.monotonic()
            # A past slot is not banked: after idling, the next call goes now, not in a burst.
            slot = now if self._next_slot is None else max(now, self._next_slot)
            self._next_slot = slot + self.interval
            return slot - now
