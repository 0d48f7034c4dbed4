"""A checkpoint: what a run learnt since the last one (confirmed rows, the invocations log's
rows, failures), and the one thread, with a warehouse connection of its own, that writes them.

Dispatching never waits on the warehouse: the runner hands a checkpoint over and keeps going.
``state.SyncState.write_checkpoint`` writes one in a single transaction.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class InvocationRecord:
    """One row of lambda_sync_invocations: its fields are the table's columns, in order."""

    run_id: str
    sync_name: str
    invocation_id: str
    attempt: int
    operation: str
    row_count: int
    started_at: datetime
    duration_ms: int
    outcome: str
    status_code: int | None
    function_error: str | None
    error_code: str | None
    error_message: str | None
    executed_version: str | None
    request_id: str | None
    rejected_rows: int
    note: str | None

    def values(self) -> tuple[Any, ...]:
        """The row's values in ``INVOCATION_COLUMNS`` order."""
        return tuple(getattr(self, name) for name in INVOCATION_COLUMNS)


INVOCATION_COLUMNS = tuple(f.name for f in fields(InvocationRecord))


@dataclass(frozen=True)
class Failure:
    """A row that failed in this run and goes to lambda_sync_errors."""

    primary_key: str
    operation: str
    reason: str
    row_json: str | None
    attempts: int  # invocations that carried the row in this run (0: never sent)


@dataclass
class Checkpoint:
    """What a run learnt since its last checkpoint, written in one transaction."""

    confirmed: list[int] = field(default_factory=list)  # seqs of the plan rows results confirmed
    invocations: list[InvocationRecord] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.confirmed or self.invocations or self.failures)


def seq_ranges(seqs: Sequence[int]) -> list[tuple[int, int]]:
    """Inclusive (low, high) runs of consecutive seqs: results mostly confirm whole batches, cut
    from the plan in seq order, so a checkpoint's thousands of rows become a few ranges.
    """
    ranges: list[tuple[int, int]] = []
    for seq in sorted(set(seqs)):
        if ranges and seq == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], seq)
        else:
            ranges.append((seq, seq))
    return ranges


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
        """True when the previous checkpoint is written; raises its error if it failed."""
        self._raise_error()
        return self._idle.is_set()

    def submit(self, write: Callable[[], None]) -> None:
        """Hands over the next checkpoint write (call it only when ``ready``)."""
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
