"""SIGINT and SIGTERM, turned into ``Interrupted`` and ``Terminated`` (errors.py).

Outside a run, a signal raises at once, as Python's own Ctrl-C does. While a run holds its lease
(``deferring``), the first signal is only recorded: the run reads ``requested`` at its safe points,
stops sending, gives the calls in flight a bounded grace period, checkpoints, records itself as
``interrupted`` and releases the lease, so that nothing is left half-written or held. A second
signal raises at once (the user wants out now); leaving the last ``deferring`` block raises a
recorded signal that nothing has raised yet.

The CLI installs the handlers around a command (``installed``); the core only reads ``requested``,
so a library caller that installs nothing is never stopped this way.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

from dbt_lambda_sync.errors import Interrupted, Terminated

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequests:
    """Which signal asked this process to stop, and whether it can stop at its own pace."""

    def __init__(self) -> None:
        self._requested: Interrupted | None = None
        self._deferring = 0
        self._raised = False

    @property
    def requested(self) -> Interrupted | None:
        """The stop a signal asked for, or None."""
        return self._requested

    def check(self) -> None:
        """At a safe point: raises the recorded stop, if any."""
        if self._requested is not None:
            self._raised = True
            raise self._requested

    @contextlib.contextmanager
    def deferring(self) -> Iterator[None]:
        """While inside, the first signal is recorded instead of raised."""
        self._deferring += 1
        try:
            yield
        finally:
            self._deferring -= 1
            if not self._deferring and self._requested is not None and not self._raised:
                self.check()

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """Handles SIGINT and SIGTERM inside the block (main thread only; elsewhere a no-op)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        self._requested, self._raised = None, False
        previous = {sig: signal.signal(sig, self._on_signal) for sig in SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        stop = Terminated() if signum == signal.SIGTERM else Interrupted()
        if self._requested is None:
            self._requested = stop
            if self._deferring:
                return  # the run stops at its next safe point
        else:
            stop = type(stop)(f"{stop}, a second time: stopping at once")
        self._raised = True
        raise stop


# The process's one set of handlers: the CLI installs it, runners read it.
process_stops = StopRequests()
