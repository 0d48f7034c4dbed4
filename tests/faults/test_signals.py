"""Ctrl-C (SIGINT) and SIGTERM stop a run cleanly and quickly (issue 9, items 9 and 10).

The runner stops sending at once, gives the calls in flight a grace period (10 s), checkpoints
what came back, records the run as ``interrupted``, releases the lease and exits 130 (SIGINT) or
143 (SIGTERM), so an immediate rerun gets the lease. The function sleeps 60 s for most rows: the
time from the signal to the exit is measured against that.
"""

from __future__ import annotations

import signal
import time

import pytest

from tests.faults.conftest import (
    Deliveries,
    check_invariant,
    deploy_faulty,
    engine_only,
    start_cli,
)
from tests.faults.test_crashes import rows_sql
from tests.integration.conftest import SyncProject

pytestmark = engine_only

GRACE_SECONDS = 10  # RunOptions.grace_seconds


def wait_for_events(project: SyncProject, process, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while len(project.events()) < count:
        assert process.poll() is None, f"exited {process.returncode}: {process.stderr.read()}"
        assert time.monotonic() < deadline, f"only {len(project.events())} calls arrived"
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("signum", "exit_code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["term", "int"]
)
def test_signal_mid_delivery_stops_within_the_grace_period(
    project: SyncProject, signum: int, exit_code: int
) -> None:
    deploy_faulty(project, timeout=90)
    project.model("customers", rows_sql(1, 9), project.sync_config(batch_size=1, concurrency=3))
    project.build()
    # Keys go out in text order, three at a time: 1 and 2 answer at once, 3 after 5 s (within
    # the grace period), every other key after 60 s.
    project.rules(sleep=60, by_key={"1": {"sleep": 0}, "2": {"sleep": 0}, "3": {"sleep": 5}})
    process = start_cli(project, "run")
    try:
        wait_for_events(project, process, 5)  # 1-5 arrived: 3, 4 and 5 are in flight
        signalled = time.monotonic()
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=120)
        stopped_after = time.monotonic() - signalled
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    print(
        f"{project.warehouse} {signal.Signals(signum).name}: exit {process.returncode}"
        f" {stopped_after:.1f} s after the signal"
    )
    assert process.returncode == exit_code, stderr[-3000:]
    assert f"Interrupted by {signal.Signals(signum).name}" in stderr
    # Nothing sent after the signal; 3 answered within the grace period; 4 and 5 abandoned.
    assert GRACE_SECONDS <= stopped_after < GRACE_SECONDS + 8, stopped_after
    assert sorted(Deliveries.of(project.events()).keys()) == ["1", "2", "3", "4", "5"]
    assert set(project.snapshot()) == {"1", "2", "3"}
    ((status, error, delivered),) = project.query(
        "select status, error, delivered_rows from {schema}.lambda_sync_runs"
    )
    assert (status, delivered) == ("interrupted", 3), (status, error, delivered)
    assert error.startswith(f"interrupted by {signal.Signals(signum).name}: stopped sending"), error
    assert "1 of 3 call(s) in flight answered within the 10 s grace period" in error, error
    assert "2 abandoned" in error, error
    assert project.query("select lease_holder from {schema}.lambda_sync_state") == [(None,)]

    # The lease is free: an immediate rerun sends the rest (4 and 5 again: never confirmed).
    project.rules()
    result = project.run()["runs"][0]
    assert (result["status"], result["delivered_rows"]) == ("success", 6), result
    check_invariant(project, Deliveries.of(project.events()))


def test_interrupt_during_the_dbt_phase_of_build(project: SyncProject) -> None:
    """Ctrl-C while `build` runs dbt: exit 130 (dbt reported it as a failed build: exit 2)."""
    deploy_faulty(project)
    project.model("customers", rows_sql(1, 3), project.sync_config())
    if project.warehouse == "duckdb":
        (project.root / "models" / "slow.py").write_text(
            "import time\n\n\ndef model(dbt, session):\n    time.sleep(8)\n"
            "    return session.sql('select 1 as id')\n"
        )
    else:
        (project.root / "models" / "slow.sql").write_text("select 1 as id from pg_sleep(8)")
    process = start_cli(project, "build")
    try:
        deadline = time.monotonic() + 120
        seen = line = ""
        while not ("START" in line and "slow" in line):  # dbt started the slow model
            line = process.stderr.readline()
            assert line or process.poll() is None, f"exited {process.returncode}: {seen[-3000:]}"
            seen += line
            assert time.monotonic() < deadline, seen[-3000:]
        time.sleep(1)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, (seen + stderr)[-3000:]
    assert "Interrupted by SIGINT" in stderr
    assert project.events() == []
