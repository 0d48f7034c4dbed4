"""The daemon worker pool (engine/executor.py): results, exceptions, a stop that does not wait."""

from __future__ import annotations

import threading
import time

import pytest

from dbt_lambda_sync.engine.executor import DaemonPool


def test_daemon_pool_returns_results_and_exceptions() -> None:
    with DaemonPool(2, name="t") as pool:
        ok = pool.submit(lambda a, b: a + b, 1, 2)
        bad = pool.submit(lambda: 1 / 0)
        assert ok.result(timeout=5) == 3
        with pytest.raises(ZeroDivisionError):
            bad.result(timeout=5)


def test_leaving_the_daemon_pool_does_not_wait_for_calls_in_flight() -> None:
    release = threading.Event()
    started = time.monotonic()
    with DaemonPool(1, name="t") as pool:
        future = pool.submit(release.wait, 30)
    assert time.monotonic() - started < 1 and not future.done()
    assert all(t.daemon for t in threading.enumerate() if t.name.startswith("t_"))
    release.set()
    assert future.result(timeout=5) is True
