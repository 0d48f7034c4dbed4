"""leases: who holds a sync's lease, stored as three columns, and whether that holder is gone."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest

from dbt_lambda_sync.leases import LeaseHolder, holder_gone, process_gone, this_host


def dead_pid() -> int:
    """The id of a process of ours that has exited and been reaped."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_this_process_names_run_pid_and_host() -> None:
    holder = LeaseHolder.this_process("run-1")
    assert holder.run_id == "run-1"
    assert holder.pid == os.getpid()
    assert holder.host == this_host()
    assert holder.label == f"run-1 (pid {os.getpid()} on {socket.gethostname()})"
    assert str(holder) == holder.label


def test_this_host_is_the_host_name_with_its_pid_namespace() -> None:
    host = this_host()
    assert host.startswith(socket.gethostname())
    if os.path.exists("/proc/self/ns/pid"):
        assert host == f"{socket.gethostname()} pidns:{os.stat('/proc/self/ns/pid').st_ino}"


def test_stored_round_trips_the_three_columns() -> None:
    holder = LeaseHolder.this_process("20260101T000000Z-abc")
    back = LeaseHolder.stored(holder.label, holder.host, holder.pid)
    assert back == holder


def test_stored_free_lease_is_none() -> None:
    assert LeaseHolder.stored(None, "host", 12) is None
    assert LeaseHolder.stored(None, None, None) is None


def test_stored_hand_written_label_is_its_own_run_id() -> None:
    holder = LeaseHolder.stored("manual-fix", None, None)
    assert holder == LeaseHolder("manual-fix", None, None, "manual-fix")


def test_stored_pid_from_a_warehouse_decimal_becomes_int() -> None:
    holder = LeaseHolder.stored("r (pid 7 on h)", "h", 7.0)  # type: ignore[arg-type]
    assert holder is not None
    assert holder.pid == 7 and isinstance(holder.pid, int)
    assert holder.run_id == "r"


def test_live_process_is_not_gone() -> None:
    assert not process_gone(os.getpid())
    assert not process_gone(os.getppid())


def test_dead_process_is_gone() -> None:
    assert process_gone(dead_pid())


def test_zombie_counts_as_gone() -> None:
    child = subprocess.Popen(["true"])
    try:
        # wait for the exit without reaping it
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
        assert process_gone(child.pid)
    finally:
        child.wait()


@pytest.mark.parametrize("pid", [0, -1])
def test_non_positive_pid_is_never_gone(pid: int) -> None:
    assert not process_gone(pid)


def test_gone_for_a_dead_pid_on_this_host() -> None:
    holder = LeaseHolder("run-1", this_host(), dead_pid(), "run-1")
    assert holder.gone()


def test_not_gone_for_a_dead_pid_on_another_host() -> None:
    holder = LeaseHolder("run-1", "elsewhere pidns:1", dead_pid(), "run-1")
    assert not holder.gone()


def test_not_gone_for_a_live_pid() -> None:
    assert not LeaseHolder("run-1", this_host(), os.getppid(), "run-1").gone()


def test_not_gone_for_this_very_process() -> None:
    assert not LeaseHolder.this_process("run-1").gone()


def test_not_gone_without_host_or_pid() -> None:
    assert not LeaseHolder("run-1", None, dead_pid(), "run-1").gone()
    assert not LeaseHolder("run-1", this_host(), None, "run-1").gone()
    assert not holder_gone(None, None)


def test_holder_gone_takes_a_pid_stored_as_text() -> None:
    assert holder_gone(this_host(), str(dead_pid()))  # type: ignore[arg-type]
