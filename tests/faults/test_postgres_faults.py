"""PostgreSQL-only faults: the runner's connection killed mid-run, and two runners at once."""

from __future__ import annotations

import contextlib
import json
import os
import time

import psycopg2
import pytest

from tests.faults.conftest import (
    Deliveries,
    check_invariant,
    deploy_faulty,
    run_until_settled,
    start_cli,
)
from tests.integration.conftest import SyncProject
from tests.support.dbt_project import PG

# PostgreSQL only: DuckDB allows one process per database file, so neither scenario exists there.
pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.parametrize("project", ["postgres"], indirect=True),
]

ROWS = 40
MODEL_SQL = f"select i as customer_id, 'name ' || i as name from generate_series(1, {ROWS}) t(i)"
LEASE_ENV = {"DBT_LAMBDA_SYNC_LEASE_SECONDS": "3"}


def wait_for_events(project: SyncProject, process, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while len(project.events()) < count:
        assert process.poll() is None, f"run ended early: {process.communicate()}"
        assert time.monotonic() < deadline, "no deliveries"
        time.sleep(0.05)


def postgres_client_ports(pid: int) -> list[int]:
    """The local ports of process ``pid``'s TCP connections to PostgreSQL (from /proc)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
            if link.startswith("socket:["):
                inodes.add(link[len("socket:[") : -1])
    ports = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                local, remote, inode = fields[1], fields[2], fields[9]
                if inode in inodes and int(remote.rsplit(":", 1)[1], 16) == PG["port"]:
                    ports.append(int(local.rsplit(":", 1)[1], 16))
    return ports


def terminate_runner_backends(pid: int) -> int:
    """pg_terminate_backend on this test's own runner only: the backends of its connections."""
    ports = postgres_client_ports(pid)
    assert ports, f"process {pid} has no connection to PostgreSQL"
    with psycopg2.connect(**PG) as con, con.cursor() as cur:
        cur.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity"
            " where pid <> pg_backend_pid() and client_port = any(%s)",
            (ports,),
        )
        return sum(1 for (ok,) in cur.fetchall() if ok)


def test_connection_lost_mid_run(project: SyncProject) -> None:
    deploy_faulty(project)
    project.rules(sleep=0.3)
    project.model("customers", MODEL_SQL, project.sync_config(batch_size=2, concurrency=2))
    project.build()
    process = start_cli(project, "run", "--output", "json", env=LEASE_ENV)
    wait_for_events(project, process, 4)
    time.sleep(1.5)  # at least one checkpoint has committed
    assert terminate_runner_backends(process.pid) >= 1
    out, err = process.communicate(timeout=120)
    assert process.returncode == 3, (process.returncode, out[-2000:], err[-3000:])
    assert "Traceback" not in err
    # Nothing marked delivered that was not: the snapshot is a subset of what the function got.
    sent = Deliveries.of(project.events())
    snapshot = project.snapshot()
    assert snapshot, "no checkpoint committed before the connection was lost"
    assert set(snapshot) <= sent.keys()
    assert all(snapshot[k] == sent.last_row()[k] for k in snapshot)
    assert len(snapshot) < ROWS
    print(
        f"connection lost: exit 3 after {len(sent.sends)} rows sent, {len(snapshot)} in the"
        f" snapshot; stderr: {err.strip().splitlines()[-1][:300]}"
    )

    result = run_until_settled(project)
    deliveries = Deliveries.of(project.events())
    check_invariant(project, deliveries)
    assert deliveries.resent() <= len(sent.keys()) - len(snapshot)
    statuses = project.query("select status from {schema}.lambda_sync_runs order by started_at")
    assert statuses == [("failed",), ("success",)], statuses  # the cut-off run is closed
    print(
        f"next run: {result['runs'][0]['delivered_rows']} delivered, {deliveries.resent()} re-sent"
    )


def test_two_runners_on_one_sync(project: SyncProject) -> None:
    deploy_faulty(project)
    project.rules(sleep=2)  # slow while the second runner starts: the first holds the lease
    project.model("customers", MODEL_SQL, project.sync_config(batch_size=1, concurrency=2))
    project.build()
    first = start_cli(project, "run", "--output", "json")
    wait_for_events(project, first, 2)
    second = project.cli("run", "--output", "json", expect=None)
    project.rules()
    assert second.returncode == 3, (second.stdout[-2000:], second.stderr[-2000:])
    refused = json.loads(second.stdout)["errors"][0]["error"]
    holder = project.query(
        "select lease_holder from {schema}.lambda_sync_state where sync_name = 'crm_customers'"
    )[0][0]
    assert "crm_customers" in refused and holder and holder in refused, (refused, holder)
    out, err = first.communicate(timeout=180)
    assert first.returncode == 0, err[-3000:]
    deliveries = Deliveries.of(project.events())
    check_invariant(project, deliveries)
    assert deliveries.resent() == 0
    print(f"second runner refused: {refused}")


def test_plan_recomputed_by_dbt_build_during_a_run(project: SyncProject) -> None:
    """A dbt build of the model while its sync runs replaces the plan: the run marks nothing
    delivered from the old plan after that, exits 3 naming it, and the next run sends the rest."""
    deploy_faulty(project)
    project.rules(sleep=1.0)  # 40 s of sending: the build (~10 s) lands mid-run
    project.model("customers", MODEL_SQL, project.sync_config(batch_size=1, concurrency=1))
    project.build()
    process = start_cli(project, "run", "--output", "json")
    wait_for_events(project, process, 3)  # checkpoints have committed
    changed_sql = MODEL_SQL.replace(
        "'name ' || i", "case when i % 5 = 0 then 'new ' else 'name ' end || i"
    )
    project.model("customers", changed_sql, project.sync_config(batch_size=1, concurrency=1))
    project.build()  # the post-hook recomputes the plan (plan_version moves on)
    out, err = process.communicate(timeout=180)
    assert process.returncode == 3, (process.returncode, out[-2000:], err[-3000:])
    assert "was planned again" in out + err, (out[-2000:], err[-2000:])
    assert "Traceback" not in err
    stopped = Deliveries.of(project.events())
    assert len(stopped.keys()) < ROWS, "the run did not stop: the build came too late"

    project.rules()
    run_until_settled(project)
    deliveries = Deliveries.of(project.events())
    check_invariant(project, deliveries)  # every row in its new version, snapshot exact
    statuses = project.query("select status from {schema}.lambda_sync_runs order by started_at")
    assert statuses[0] == ("failed",) and statuses[-1] == ("success",), statuses
    print(
        f"plan replaced mid-run: stopped after {len(stopped.sends)} sends; afterwards"
        f" {deliveries.resent()} re-sent in all, runs {statuses}"
    )
