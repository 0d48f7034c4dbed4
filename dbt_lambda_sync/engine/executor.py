"""A fixed pool of daemon worker threads that run the Lambda calls.

``concurrent.futures.ThreadPoolExecutor`` joins its workers when its ``with`` block ends and again
at interpreter exit, so a process asked to stop would wait for every call in flight, up to
``timeout_seconds + 5`` each. These workers are daemon threads and nothing joins them: a run that
stops after its grace period leaves the calls still running behind (their rows stay pending and
the next run sends them), and the process exits.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")


class DaemonPool:
    """``submit`` returns a ``concurrent.futures.Future`` (``wait`` works on it)."""

    def __init__(self, workers: int, *, name: str) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self._tasks: queue.SimpleQueue[tuple[Future, Callable[..., Any], tuple] | None] = (
            queue.SimpleQueue()
        )
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}_{i}", daemon=True)
            for i in range(workers)
        ]

    def __enter__(self) -> DaemonPool:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        # Never waits: a worker ends once its current call returns and it reads the sentinel.
        for _thread in self._threads:
            self._tasks.put(None)

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Queue ``fn(*args)`` for a worker; its future."""
        future: Future[T] = Future()
        self._tasks.put((future, fn, args))
        return future

    def _work(self) -> None:
        while (task := self._tasks.get()) is not None:
            future, fn, args = task
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # handed to whoever reads the future
                future.set_exception(exc)
