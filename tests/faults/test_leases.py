"""Leases (issue 9, item 11): a runner that died on this host is taken over at once, and expiry is
judged by the warehouse's clock, never the runner's.

Before: the next run waited out the 120 s lease of a runner killed with SIGKILL (exit 3 until
then), and a runner whose clock ran an hour ahead took over a live lease (both would send).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import datetime, timedelta

from dbt_lambda_sync.leases import this_host
from tests.faults.conftest import (
    Deliveries,
    check_invariant,
    cli_command,
    deploy_faulty,
    start_cli,
)
from tests.faults.test_crashes import rows_sql
from tests.integration.conftest import SyncProject, execute
from tests.support.dbt_project import BIN

# Runs the CLI with the runner's clock moved by argv[1] hours (SyncRunner reads runner.utcnow).
SKEWED_CLI = """\
import datetime, sys
import dbt_lambda_sync.runner as runner
offset = datetime.timedelta(hours=float(sys.argv.pop(1)))
real = runner.utcnow
runner.utcnow = lambda: real() + offset
from dbt_lambda_sync.cli import main
main(prog_name="dbt-lambda-sync")
"""


def set_up(project: SyncProject, rows: int = 6) -> None:
    deploy_faulty(project)
    project.model("customers", rows_sql(1, rows), project.sync_config(concurrency=2))
    project.build()


def stage_lease(project: SyncProject, *, host: str, pid: int, minutes: int) -> None:
    """Another runner's lease, expiring ``minutes`` from now by the warehouse's clock."""
    if project.warehouse == "snowflake":
        utc_now = "cast(convert_timezone('UTC', current_timestamp()) as timestamp_ntz)"
        expires = f"dateadd(minute, {minutes}, {utc_now})"
    else:
        sign = "+" if minutes >= 0 else "-"
        expires = f"(current_timestamp at time zone 'UTC') {sign} interval '{abs(minutes)} minutes'"
    execute(
        project,
        "update {schema}.lambda_sync_state set"
        f" lease_holder = 'run-x (pid {pid} on {host})', lease_host = '{host}',"
        f" lease_pid = {pid}, lease_expires_at = {expires}",
    )


def run_skewed(project: SyncProject, hours: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "python"), "-c", SKEWED_CLI, str(hours)]
        + cli_command(project, "run", "--output", "json")[1:],
        cwd=project.root,
        env={k: v for k, v in project.env.items() if k != "DBT_LAMBDA_SYNC_LEASE_SECONDS"},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_a_runner_killed_on_this_host_is_taken_over_at_once(project: SyncProject) -> None:
    set_up(project, rows=10)
    project.rules(sleep=2)
    process = start_cli(project, "run")  # the default lease: 120 s
    try:
        deadline = time.monotonic() + 120
        while len(project.events()) < 3:
            assert process.poll() is None, process.stderr.read()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        process.kill()  # SIGKILL: no handler runs, the lease stays in the table
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
    ((holder, host, pid),) = project.query(
        "select lease_holder, lease_host, lease_pid from {schema}.lambda_sync_state"
    )
    assert (host, pid) == (this_host(), process.pid), (holder, host, pid)
    # status shows the killed run as interrupted at once (before: running until the lease expired)
    status = json.loads(project.cli("status", "--output", "json").stdout)
    assert [r["status"] for r in status["syncs"][0]["runs"]] == ["interrupted"], status

    project.rules()
    started = time.monotonic()
    result = project.run()["runs"][0]  # exit 0 at once; before: exit 3 for 120 s
    print(f"{project.warehouse}: rerun after kill -9 took {time.monotonic() - started:.1f} s")
    assert result["status"] == "success"
    statuses = dict(
        project.query("select status, count(*) from {schema}.lambda_sync_runs group by status")
    )
    assert statuses == {"failed": 1, "success": 1}, statuses  # the killed run, closed
    assert project.query(
        "select lease_holder, lease_host, lease_pid from {schema}.lambda_sync_state"
    ) == [(None, None, None)]
    check_invariant(project, Deliveries.of(project.events()))


def test_a_live_holder_on_this_host_keeps_its_lease(project: SyncProject) -> None:
    set_up(project)
    # A state table from before lease_host and lease_pid: the next command adds them.
    execute(project, "alter table {schema}.lambda_sync_state drop column lease_host")
    execute(project, "alter table {schema}.lambda_sync_state drop column lease_pid")
    project.plan()
    stage_lease(project, host=this_host(), pid=os.getpid(), minutes=10)  # this test: alive
    result = project.cli("run", expect=3)
    assert "is being run by run-x" in result.stderr
    assert project.events() == []

    gone = subprocess.Popen(["true"])
    gone.wait()
    stage_lease(project, host=this_host(), pid=gone.pid, minutes=10)  # a process that ended
    assert project.run()["runs"][0]["delivered_rows"] == 6


def test_expiry_is_judged_by_the_warehouse_clock(project: SyncProject) -> None:
    set_up(project)
    # A live lease of a runner elsewhere; this runner's clock is an hour ahead.
    stage_lease(project, host="elsewhere", pid=1, minutes=10)
    ahead = run_skewed(project, 1)
    assert ahead.returncode == 3, ahead.stdout[-2000:] + ahead.stderr[-2000:]
    assert "is being run by run-x (pid 1 on elsewhere)" in ahead.stderr
    assert project.events() == []

    # An expired lease; this runner's clock is an hour behind: it takes the lease anyway.
    stage_lease(project, host="elsewhere", pid=1, minutes=-1)
    behind = run_skewed(project, -1)
    assert behind.returncode == 0, behind.stdout[-2000:] + behind.stderr[-2000:]
    run = json.loads(behind.stdout)["runs"][0]
    assert run["delivered_rows"] == 6
    started = datetime.strptime(run["run_id"][:16], "%Y%m%dT%H%M%SZ")
    assert started < datetime.utcnow() - timedelta(minutes=50)  # the skew was in effect
