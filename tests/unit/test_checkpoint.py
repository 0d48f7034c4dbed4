"""The checkpoint writer (checkpoint.py) without a warehouse: its thread, its failures."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import pytest

from dbt_lambda_sync.checkpoint import CheckpointWriter, seq_ranges
from dbt_lambda_sync.errors import LeaseHeldError


def test_seq_ranges_compress_consecutive_runs() -> None:
    assert seq_ranges([]) == []
    assert seq_ranges([5]) == [(5, 5)]
    assert seq_ranges([3, 1, 2, 7, 8, 10]) == [(1, 3), (7, 8), (10, 10)]
    assert seq_ranges([4, 4, 5]) == [(4, 5)]  # a row confirmed twice (a retried batch)


def test_seq_ranges_of_whole_batches_are_few() -> None:
    # 100 batches of 100 confirmed, one rejected row in every tenth batch
    seqs = [s for s in range(1, 10_001) if not (s % 1000 == 50)]
    assert len(seq_ranges(seqs)) == 11


class FakeWarehouse:
    """Records which thread holds a 'connection' and what ran on it."""

    def __init__(self, fail_open: bool = False):
        self.fail_open = fail_open
        self.opened_on: list[str] = []
        self.closed = threading.Event()

    @contextlib.contextmanager
    def thread_connection(self, name: str) -> Iterator[None]:
        if self.fail_open:
            raise LeaseHeldError("s", "x", "y")
        self.opened_on.append(threading.current_thread().name)
        try:
            yield
        finally:
            self.closed.set()


def test_writer_runs_writes_on_its_own_thread_one_at_a_time() -> None:
    warehouse = FakeWarehouse()
    ran: list[str] = []
    release = threading.Event()

    def slow_write() -> None:
        release.wait(5)
        ran.append(threading.current_thread().name)

    with CheckpointWriter(warehouse, name="writer-test") as writer:  # type: ignore[arg-type]
        assert writer.ready()
        writer.submit(slow_write)
        assert not writer.ready()  # the dispatcher keeps going and tries again later
        release.set()
        for _ in range(500):
            if writer.ready():
                break
            threading.Event().wait(0.01)
        assert writer.ready()
        writer.submit(lambda: ran.append("second"))
    assert ran == ["writer-test", "second"]
    assert warehouse.opened_on == ["writer-test"]
    assert warehouse.closed.is_set()


def test_a_failed_write_is_raised_on_the_dispatching_thread_and_stops_later_writes() -> None:
    ran: list[int] = []

    def failing() -> None:
        raise LeaseHeldError("crm", "another runner", "soon")

    writer = CheckpointWriter(FakeWarehouse(), name="writer-fail")  # type: ignore[arg-type]
    with pytest.raises(LeaseHeldError):
        with writer:
            writer.submit(failing)
            writer.submit(lambda: ran.append(1))  # queued behind the failure: never written
    assert ran == []


def test_a_writer_that_cannot_connect_reports_it() -> None:
    writer = CheckpointWriter(FakeWarehouse(fail_open=True), name="writer-noconn")  # type: ignore[arg-type]
    with pytest.raises(LeaseHeldError):
        with writer:
            writer.submit(lambda: None)
            for _ in range(500):
                writer.ready()
                threading.Event().wait(0.01)
