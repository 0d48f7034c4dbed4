"""Who holds a sync's lease, and whether that holder is still alive.

The lease itself (lease_holder, lease_expires_at, lease_host, lease_pid in lambda_sync_state) is
taken and renewed by ``state.SyncState``; in code a holder is a value. The state table has no
run-id column, so ``LeaseHolder.stored`` recovers the run id from the label ``this_process``
wrote, in this one place.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class LeaseHolder:
    """Who holds a sync's lease: one run (or maintenance action) of one process on one host.

    Stored as three columns: ``label`` in lease_holder (for people, and what a renewal matches),
    ``host`` in lease_host and ``pid`` in lease_pid (to tell a dead holder on this host).
    """

    run_id: str  # the run's id, or the maintenance action ("reset-20260101T000000Z")
    host: str | None
    pid: int | None
    label: str

    @classmethod
    def this_process(cls, run_id: str) -> LeaseHolder:
        """The holder for ``run_id`` run by this process."""
        pid = os.getpid()
        return cls(run_id, this_host(), pid, f"{run_id} (pid {pid} on {socket.gethostname()})")

    @classmethod
    def stored(cls, label: str | None, host: str | None, pid: int | None) -> LeaseHolder | None:
        """The holder a state row names (None when the lease is free)."""
        if label is None:
            return None
        # this_process wrote the label; a label written by hand is its own run_id
        run_id = str(label).partition(" (pid ")[0]
        return cls(run_id, host, None if pid is None else int(pid), str(label))

    def gone(self) -> bool:
        """The holder ran on this host, as another process that no longer exists."""
        return holder_gone(self.host, self.pid)

    def __str__(self) -> str:
        return self.label


def this_host() -> str:
    """This machine as lease_host: its host name and, on Linux, its process-id namespace, so that
    containers sharing a host name (a Kubernetes pod) never judge each other's process ids.
    """
    name = socket.gethostname()
    try:
        return f"{name} pidns:{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        return name


def process_gone(pid: int) -> bool:
    """True only when no process ``pid`` exists on this host (or it is a zombie, dead but not yet
    reaped). Any doubt (another user's process, no POSIX signals) counts as alive.
    """
    if os.name != "posix" or pid <= 0:
        return False  # on Windows, os.kill(pid, 0) would send the process a Ctrl-C
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def holder_gone(lease_host: str | None, lease_pid: int | None) -> bool:
    """A lease's holder ran on this host, as another process that no longer exists."""
    if lease_host != this_host() or lease_pid is None or int(lease_pid) == os.getpid():
        return False
    return process_gone(int(lease_pid))
