"""state: a sync's state row, lease, plan pages, runs and checkpoints, on a recording warehouse.

What is checked here is the module's own logic: which statements it sends with which bound
parameters, how it pages the plan, and what it decides from the rows it reads. What the SQL and
macros do on DuckDB and PostgreSQL (locking, the lease race, applying a plan) is covered by the
integration tests.
"""

from __future__ import annotations

import subprocess
from datetime import datetime
from typing import Any

import pytest

from dbt_lambda_sync.checkpoint import Checkpoint, Failure
from dbt_lambda_sync.errors import LeaseHeldError
from dbt_lambda_sync.leases import LeaseHolder, this_host
from dbt_lambda_sync.state import (
    ABANDONED_RUN_ERROR,
    RUN_COUNTERS,
    RunCounters,
    StateRow,
    SyncState,
    sql_time,
)
from tests.support.recording_warehouse import RecordingWarehouse

NOW = datetime(2026, 3, 4, 5, 6, 7, 890)
STATE = "db.main.lambda_sync_state"
PLANS = "db.main.lambda_sync_plans"
RUNS = "db.main.lambda_sync_runs"
ME = LeaseHolder.this_process("run-1")


def sync_state(wh: RecordingWarehouse) -> SyncState:
    wh.macro_results["utc_now"] = " now() "
    warehouse: Any = wh
    return SyncState(warehouse, sync_name="crm", model_name="customers")


def test_sql_time_is_what_the_macros_cast() -> None:
    assert sql_time(NOW) == "2026-03-04 05:06:07.000890"
    assert sql_time(datetime(2026, 1, 1)) == "2026-01-01 00:00:00.000000"


def test_read_without_a_row_is_none() -> None:
    wh = RecordingWarehouse()
    assert sync_state(wh).read() is None
    ((_, sql, params),) = wh.of("fetch")
    assert f"from {STATE} where sync_name = ?" in sql
    assert params == ["crm"]


def test_read_builds_the_state_row_in_column_order() -> None:
    wh = RecordingWarehouse()
    row = (True, 3, 3, 7, "inv", "def", 0, None, None, None, "k", "k", "c", "c")
    wh.answer("select initialized", [row])
    assert sync_state(wh).read() == StateRow(*row)


def test_table_relations_are_looked_up_once() -> None:
    state = sync_state(RecordingWarehouse())
    assert state.table("runs") == RUNS
    assert state.table("runs") is state.table("runs")


def test_warehouse_clock_is_asked_once_per_offset() -> None:
    wh = RecordingWarehouse()
    state = sync_state(wh)
    assert state.utc_now_sql(30) == "now()"
    state.utc_now_sql(30)
    state.utc_now_sql()
    assert [kw for _, name, kw in wh.of("macro") if name == "utc_now"] == [
        {"plus_seconds": 30},
        {"plus_seconds": None},
    ]


# --- the lease ------------------------------------------------------------------------------------


def lease_rows(label: str | None, host: str | None = None, pid: int | None = None) -> Any:
    return [(label, datetime(2026, 1, 1), host, pid)]


def test_acquire_lease_takes_a_free_or_expired_lease_in_one_update() -> None:
    wh = RecordingWarehouse()
    wh.answer("select lease_holder, lease_expires_at, lease_host", lease_rows(ME.label))
    sync_state(wh).acquire_lease(ME, lease_seconds=60)
    (update,) = wh.of("execute")
    assert update[1].startswith(f"update {STATE} set lease_holder = ?")
    assert "lease_expires_at < now()" in update[1]
    assert update[2] == [ME.label, ME.host, ME.pid, "crm", ME.label]
    assert (
        "macro",
        "ensure_state_row",
        {"sync_name": "crm", "model_name": "customers"},
    ) in wh.calls


def test_acquire_lease_held_by_a_live_runner_raises_naming_it() -> None:
    wh = RecordingWarehouse()
    other = "run-0 (pid 1 on elsewhere)"
    wh.answer("select lease_holder, lease_expires_at, lease_host", lease_rows(other, "h", 1))
    with pytest.raises(LeaseHeldError) as info:
        sync_state(wh).acquire_lease(ME, lease_seconds=60)
    assert info.value.holder == other
    assert len(wh.of("execute")) == 1  # no take-over of a live holder's lease


def test_acquire_lease_takes_over_from_a_dead_holder_on_this_host() -> None:
    wh = RecordingWarehouse()
    child_pid = _dead_pid()
    dead = f"run-0 (pid {child_pid} on here)"
    rows = iter([lease_rows(dead, this_host(), child_pid), lease_rows(ME.label)])
    wh.answer("select lease_holder, lease_expires_at, lease_host", lambda sql, params: next(rows))
    sync_state(wh).acquire_lease(ME, lease_seconds=60)
    _, takeover = wh.of("execute")
    assert "and lease_holder = ? and lease_host = ? and lease_pid = ?" in takeover[1]
    assert takeover[2] == [ME.label, ME.host, ME.pid, "crm", dead, this_host(), child_pid]


def test_acquire_lease_without_a_row_raises() -> None:
    with pytest.raises(LeaseHeldError, match="another runner"):
        sync_state(RecordingWarehouse()).acquire_lease(ME, lease_seconds=60)


def test_release_lease_only_if_still_ours() -> None:
    wh = RecordingWarehouse()
    sync_state(wh).release_lease(ME)
    ((_, sql, params),) = wh.of("execute")
    assert sql.endswith("where sync_name = ? and lease_holder = ?")
    assert params == ["crm", ME.label]


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


# --- the plan -------------------------------------------------------------------------------------


def test_plan_counts_and_an_empty_seq_range() -> None:
    wh = RecordingWarehouse()
    wh.answer("group by operation", [("added", 3), ("removed", 1)])
    wh.answer("min(seq), max(seq)", [(None, None)])
    state = sync_state(wh)
    assert state.plan_counts() == {"added": 3, "removed": 1}
    assert state.plan_seq_range() == (0, 0)


def plan_wh(seqs: list[int], sizes: dict[int, int] | None = None) -> RecordingWarehouse:
    """A plan holding these seqs; ``sizes``: each row's JSON length."""
    wh = RecordingWarehouse()
    wh.answer("min(seq), max(seq)", [(min(seqs), max(seqs))])

    def rows(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        _, after, through, *_ops = params
        return [(s, f"k{s}", "added", "{}", None) for s in seqs if after < s <= through]

    def lengths(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        _, after, through, *_ops = params
        return [(s, (sizes or {}).get(s, 1)) for s in seqs if after < s <= through]

    wh.answer("select seq, primary_key", rows)
    wh.answer("coalesce(length(row_json)", lengths)
    return wh


def test_plan_pages_walk_seq_ranges_and_skip_empty_ones() -> None:
    wh = plan_wh([1, 2, 3, 10, 11])
    pages = list(sync_state(wh).plan_pages(operations=["added"], rows_per_page=3))
    assert [[row[0] for row in page] for page in pages] == [[1, 2, 3], [10, 11]]
    ranges = [params[1:3] for _, sql, params in wh.of("fetch") if "select seq, primary_key" in sql]
    assert ranges == [[0, 3], [3, 6], [6, 9], [9, 12]]


def test_plan_page_binds_the_operations() -> None:
    wh = plan_wh([5])
    list(sync_state(wh).plan_pages(operations=["added", "changed"], rows_per_page=10))
    (_, sql, params) = next(c for c in wh.of("fetch") if "select seq, primary_key" in c[1])
    assert "operation in (?, ?)" in sql
    assert params == ["crm", 4, 14, "added", "changed"]


def test_pages_cut_by_characters_keep_at_least_one_row() -> None:
    wh = plan_wh([1, 2, 3, 4], sizes={1: 50, 2: 50, 3: 500, 4: 10})
    pages = list(
        sync_state(wh).plan_pages(operations=["added"], rows_per_page=10, chars_per_page=120)
    )
    # 1+2 fit; 3 alone is over the limit but a page holds at least one row; then 4
    assert [[row[0] for row in page] for page in pages] == [[1, 2], [3], [4]]


# --- runs and checkpoints -------------------------------------------------------------------------


def counters() -> RunCounters:
    return RunCounters(*range(1, len(RUN_COUNTERS) + 1))


def test_start_run_inserts_a_running_row_with_its_counters() -> None:
    wh = RecordingWarehouse()
    sync_state(wh).start_run("r1", started_at=NOW, first_run=True, counters=counters())
    ((_, table, (columns, rows)),) = wh.of("insert")
    assert table == RUNS
    assert columns[:6] == ["run_id", "sync_name", "model_name", "started_at", "status", "first_run"]
    assert tuple(columns[6:]) == RUN_COUNTERS
    assert rows == [("r1", "crm", "customers", NOW, "running", True, *range(1, 10))]


def test_finish_run_binds_counters_in_column_order() -> None:
    wh = RecordingWarehouse()
    sync_state(wh).finish_run(
        "r1", finished_at=NOW, status="failed", counters=counters(), error="boom"
    )
    ((_, sql, params),) = wh.of("execute")
    assert sql.startswith(f"update {RUNS} set finished_at = ?, status = ?, error = ?, ")
    assert sql.endswith("where run_id = ? and sync_name = ?")
    assert params == [NOW, "failed", "boom", *range(1, 10), "r1", "crm"]


def test_fail_abandoned_runs_closes_only_running_ones() -> None:
    wh = RecordingWarehouse()
    sync_state(wh).fail_abandoned_runs(now=NOW)
    ((_, sql, params),) = wh.of("execute")
    assert "status = 'running'" in sql
    assert params == [NOW, ABANDONED_RUN_ERROR, "crm"]


def checkpoint_wh(holder: str | None, plan_version: int | None) -> RecordingWarehouse:
    wh = RecordingWarehouse()
    wh.answer("select lease_holder, lease_expires_at, plan_version", [(holder, NOW, plan_version)])
    return wh


def write(wh: RecordingWarehouse, checkpoint: Checkpoint, plan_version: int | None) -> bool:
    return sync_state(wh).write_checkpoint(
        checkpoint,
        run_id="r1",
        now=NOW,
        counters=counters(),
        lease_holder=ME,
        lease_seconds=60,
        plan_version=plan_version,
    )


def test_checkpoint_applies_confirmed_seq_ranges_in_one_transaction() -> None:
    wh = checkpoint_wh(ME.label, 7)
    failure = Failure("9", "added", "bad", None, 1)
    assert write(wh, Checkpoint(confirmed=[3, 1, 2, 5], failures=[failure]), 7)
    # the failures' staging table first, outside: DDL commits an open transaction on Snowflake
    assert "create temporary table" in wh.calls[0][1]
    assert wh.calls[1][0] == "begin" and wh.calls[-1][0] == "commit"
    assert not any("create " in str(sql) for _, sql, _ in wh.calls[1:])
    (apply,) = [kw for _, name, kw in wh.of("macro") if name == "apply_confirmed"]
    assert apply["seq_ranges"] == [(1, 3), (5, 5)]
    assert apply["now"] == sql_time(NOW)
    assert any("lambda_sync_errors" in sql for _, sql, _ in wh.of("execute"))
    assert wh.of("execute")[-1][2] == [*range(1, 10), "r1", "crm"]


def test_checkpoint_of_a_replaced_plan_writes_everything_but_the_confirmed_rows() -> None:
    wh = checkpoint_wh(ME.label, 8)
    assert write(wh, Checkpoint(confirmed=[1]), 7) is False
    assert not [name for _, name, _ in wh.of("macro") if name == "apply_confirmed"]
    assert wh.of("insert") and wh.of("execute")[-1][1].startswith(f"update {RUNS} set")


def test_checkpoint_without_confirmed_rows_is_applied_whatever_the_plan() -> None:
    assert write(checkpoint_wh(ME.label, 8), Checkpoint(), 7) is True


def test_checkpoint_of_a_runner_that_lost_its_lease_writes_nothing() -> None:
    wh = checkpoint_wh("someone-else", 7)
    with pytest.raises(LeaseHeldError) as info:
        write(wh, Checkpoint(confirmed=[1]), 7)
    assert info.value.holder == "someone-else"
    assert wh.of("insert") == [] and wh.of("commit") == []
    (renewal,) = wh.of("execute")
    assert renewal[2] == ["crm", ME.label]


def test_count_new_failures_leaves_out_duplicates() -> None:
    wh = RecordingWarehouse()
    wh.answer("first_failed_run_id = ?", [(4,)])
    assert sync_state(wh).count_new_failures("r1") == 4
    ((_, sql, params),) = wh.of("fetch")
    assert "operation <> 'duplicate'" in sql and params == ["crm", "r1"]
