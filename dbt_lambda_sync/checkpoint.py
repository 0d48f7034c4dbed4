"""The checkpoint writer: one thread, with a warehouse connection of its own, writes checkpoints.

Dispatching never waits on the warehouse: the runner hands a checkpoint over and keeps going.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol


class Connections(Protocol):
    """Where a thread gets a warehouse connection of its own (``Warehouse``, ``SyncState``)."""

    def thread_connection(self, name: str) -> AbstractContextManager[None]:
        """A connection for the calling thread while inside."""


class CheckpointWriter:
    """One thread with a warehouse connection of its own that writes checkpoints, one at a time.

    The dispatching thread hands over a checkpoint only when the previous one is written
    (``ready``), and meanwhile keeps what it learns for the next. A failed write (a lost lease, a
    lost warehouse) is raised on the dispatching thread by the next ``ready`` or by leaving the
    ``with`` block; nothing after it is written.
    """

    def __init__(self, warehouse: Connections, *, name: str):
        self._warehouse = warehouse
        self._tasks: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._idle = threading.Event()
        self._idle.set()
        self._error: BaseException | None = None
        # dbt's macros read context variables (the invocation's env): run in a copy of ours.
        context = contextvars.copy_context()
        self._thread = threading.Thread(
            target=lambda: context.run(self._work), name=name, daemon=True
        )

    def __enter__(self) -> CheckpointWriter:
        self._thread.start()
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        self._tasks.put(None)
        self._thread.join()
        if exc_type is None:
            self._raise_error()

    def ready(self) -> bool:
        self._raise_error()
        return self._idle.is_set()

    def submit(self, write: Callable[[], None]) -> None:
        self._idle.clear()
        self._tasks.put(write)

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _work(self) -> None:
        failed = False
        try:
            with self._warehouse.thread_connection(self._thread.name):
                while (write := self._tasks.get()) is not None:
                    try:
                        if not failed:
                            write()
                    except BaseException as exc:
                        failed, self._error = True, exc
                    finally:
                        self._idle.set()
        except BaseException as exc:  # could not open its connection
            self._error = self._error or exc
            self._idle.set()
            while self._tasks.get() is not None:  # let __exit__ finish
                pass
