"""Time, injected: the limiter, the backoff and the invoker read time only through a ``Clock``.

Tests pass a fake clock (``tests/support/clock.py``) so that rate limits and backoff schedules
are checked to the exact number and instantly (s3transfer's ``TimeUtils`` idea).
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """A monotonic clock that can also wait."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (only differences are meaningful)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (>= 0)."""
        ...


class SystemClock:
    """The real clock: ``time.monotonic`` and ``time.sleep``."""

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """``time.sleep(seconds)``; nothing for a wait of zero or less."""
        if seconds > 0:
            time.sleep(seconds)
