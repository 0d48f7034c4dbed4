"""When to retry a failed invocation, and how long to wait first.

Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"):
the wait before a retry is uniform in ``[0, min(max_delay, base_delay * 2**n)]``, which spreads
concurrent retries out instead of having them hit a throttled function in waves. Lambda's
``retryAfterSeconds`` is a floor on top of that, up to ``max_retry_after``: a longer wait asked
for means no retry in this run.

``retry_number`` in both methods counts the retries already made (0 before the first retry), so
a caller's loop is::

    retries = 0
    while result.retryable and policy.should_retry(retries):
        clock.sleep(policy.delay(retries, retry_after=result.retry_after))
        retries += 1
        result = invoke(...)
"""

from __future__ import annotations

import random

# The longest a run waits for a throttled function when Lambda asks it to (retryAfterSeconds,
# Retry-After). Past it the rows fail for this run and the next run tries them again, instead of
# the runner idling (and renewing its lease) for as long as an answer says.
MAX_RETRY_AFTER_SECONDS = 60.0

# 2**62 * any sane base delay already exceeds any max_delay; capping the exponent avoids an
# OverflowError when a caller passes an absurd retry number.
_MAX_EXPONENT = 62


class RetryPolicy:
    """When to retry a failed invocation and how long to wait first."""

    def __init__(
        self,
        *,
        attempts: int,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        max_retry_after: float = MAX_RETRY_AFTER_SECONDS,
        rng: random.Random | None = None,
    ) -> None:
        if attempts < 0:
            raise ValueError(f"attempts must be >= 0, got {attempts}")
        if base_delay < 0:
            raise ValueError(f"base_delay must be >= 0, got {base_delay}")
        if max_delay < base_delay:
            raise ValueError(f"max_delay ({max_delay}) must be >= base_delay ({base_delay})")
        self.attempts = attempts
        self.base_delay = float(base_delay)
        self.max_delay = float(max_delay)
        self.max_retry_after = float(max_retry_after)
        # The random source is injected so that tests get exact, reproducible delays.
        self._rng = rng if rng is not None else random.Random()

    def should_retry(self, retry_number: int) -> bool:
        """True if one more retry is allowed after ``retry_number`` retries already made."""
        return retry_number < self.attempts

    def waits_too_long(self, retry_after: float | None) -> bool:
        """True when the service asks for a longer wait than a run gives it (inf included):
        do not retry in this run.
        """
        return retry_after is not None and not retry_after <= self.max_retry_after

    def backoff_cap(self, retry_number: int) -> float:
        """The upper bound of the jittered wait before retry ``retry_number`` (0-based)."""
        exponent = min(max(retry_number, 0), _MAX_EXPONENT)
        return min(self.max_delay, self.base_delay * (2.0**exponent))

    def delay(self, retry_number: int, *, retry_after: float | None = None) -> float:
        """Seconds to wait before the retry that follows ``retry_number`` retries already made.

        Never less than ``retry_after`` (the service's own hint) when one is given, never more
        than ``max_retry_after`` for it (see ``waits_too_long``).
        """
        wait = self._rng.uniform(0.0, self.backoff_cap(retry_number))
        if retry_after is not None and retry_after > wait:
            wait = min(float(retry_after), self.max_retry_after)
        return wait
