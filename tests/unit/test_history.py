"""history: run and error records for people and scripts, interrupted runs, sync selection.

The queries run on a recording warehouse here; what they read from real tables is covered by
the integration tests (status, errors, reset).
"""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from dbt_lambda_sync.errors import UsageError
from dbt_lambda_sync.history import (
    DeclaredSync,
    ErrorRecord,
    History,
    RunRecord,
    _run_record,
    iso_utc,
    one_sync,
    select_syncs,
)
from dbt_lambda_sync.leases import LeaseHolder, this_host
from dbt_lambda_sync.state import RUN_COLUMNS
from tests.support.recording_warehouse import RecordingWarehouse

NOW = datetime(2026, 5, 1, 12, 0, 0)
STARTED = datetime(2026, 5, 1, 11, 59, 0)


def run_row(run_id: str, status: str | None = "succeeded", **values: Any) -> tuple[Any, ...]:
    row: dict[str, Any] = dict.fromkeys(RUN_COLUMNS)
    row.update(run_id=run_id, sync_name="crm", model_name="customers", status=status)
    row.update(started_at=STARTED, finished_at=STARTED + timedelta(seconds=1, microseconds=234_400))
    row.update(values)
    return tuple(row[c] for c in RUN_COLUMNS)


def record(**values: Any) -> RunRecord:
    return _run_record(run_row("r1", **values))


# --- records --------------------------------------------------------------------------------------


def test_iso_utc() -> None:
    assert iso_utc(None) is None
    assert iso_utc(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05Z"
    plus_two = timezone(timedelta(hours=2))
    assert iso_utc(datetime(2026, 1, 2, 3, 4, 5, tzinfo=plus_two)) == "2026-01-02T01:04:05Z"
    assert iso_utc(datetime(2026, 1, 2, 3, 4, 5, 600, tzinfo=timezone.utc)).endswith(".000600Z")


def test_run_record_from_a_row_fills_counters_and_status() -> None:
    run = record(status=None, first_run=1, delivered_rows="7")
    assert run.status == "unknown"
    assert run.first_run is True
    assert run.delivered_rows == 7 and run.retries == 0  # null counters read as 0
    assert record(first_run=None).first_run is None


def test_duration_and_planned_rows() -> None:
    run = record(planned_added=3, planned_changed=2, planned_removed=1)
    assert run.duration_seconds == 1.234  # rounded to the millisecond
    assert run.planned_rows == 6
    assert record(finished_at=None).duration_seconds is None
    assert record(started_at=None).duration_seconds is None


def test_run_record_json_is_the_columns_in_order_without_the_sync() -> None:
    out = record(error="boom").to_json()
    expected = [c for c in RUN_COLUMNS if c not in ("sync_name", "model_name")]
    expected.insert(expected.index("finished_at") + 1, "duration_seconds")
    assert list(out) == expected
    assert out["started_at"] == "2026-05-01T11:59:00Z"
    assert out["finished_at"] == "2026-05-01T11:59:01.234400Z"
    assert out["error"] == "boom"


def test_error_record_json() -> None:
    error = ErrorRecord("k1", "added", "bad", 3, STARTED, NOW, "r7")
    assert error.to_json() == {
        "primary_key_value": "k1",
        "operation": "added",
        "reason": "bad",
        "attempts": 3,
        "first_failed_at": "2026-05-01T11:59:00Z",
        "last_failed_at": "2026-05-01T12:00:00Z",
        "last_failed_run_id": "r7",
    }


# --- interrupted runs -----------------------------------------------------------------------------


def history_wh(lease: tuple[Any, ...] | None, *runs: tuple[Any, ...]) -> RecordingWarehouse:
    wh = RecordingWarehouse()
    wh.tables["db.main.lambda_sync_runs"] = list(RUN_COLUMNS)
    wh.tables["db.main.lambda_sync_state"] = [
        "sync_name",
        "lease_holder",
        "lease_host",
        "lease_pid",
    ]
    wh.answer("row_number() over", list(runs))
    wh.answer("select sync_name, lease_holder", [lease] if lease else [])
    return wh


def statuses(wh: RecordingWarehouse) -> list[str]:
    warehouse: Any = wh
    runs = History(warehouse).recent_runs(["crm"], limit=5, now=NOW)
    return [run.status for run in runs["crm"]]


def test_a_running_run_holding_an_unexpired_lease_is_running() -> None:
    holder = LeaseHolder.this_process("r2")
    lease = ("crm", holder.label, NOW + timedelta(seconds=30), holder.host, holder.pid)
    wh = history_wh(lease, run_row("r2", "running"), run_row("r1"))
    assert statuses(wh) == ["running", "succeeded"]


@pytest.mark.parametrize(
    "lease",
    [
        None,  # nobody holds the lease
        ("crm", "r3 (pid 1 on h)", NOW + timedelta(seconds=30), "elsewhere", 1),  # another run
        ("crm", "r2 (pid 1 on h)", NOW - timedelta(seconds=1), "elsewhere", 1),  # expired
    ],
    ids=["free", "other-run", "expired"],
)
def test_a_running_run_without_the_lease_is_interrupted(lease: tuple[Any, ...] | None) -> None:
    assert statuses(history_wh(lease, run_row("r2", "running"))) == ["interrupted"]


def test_a_running_run_whose_process_died_on_this_host_is_interrupted() -> None:
    child = subprocess.Popen(["true"])
    child.wait()
    lease = ("crm", f"r2 (pid {child.pid} on h)", NOW + timedelta(hours=1), this_host(), child.pid)
    assert statuses(history_wh(lease, run_row("r2", "running"))) == ["interrupted"]


def test_an_aware_expiry_is_compared_in_utc() -> None:
    holder = LeaseHolder.this_process("r2")
    plus_two = timezone(timedelta(hours=2))
    # 13:00:30+02:00 is 11:00:30 UTC: expired at NOW (12:00 UTC)
    expires = datetime(2026, 5, 1, 13, 0, 30, tzinfo=plus_two)
    lease = ("crm", holder.label, expires, holder.host, holder.pid)
    assert statuses(history_wh(lease, run_row("r2", "running"))) == ["interrupted"]


def test_recent_runs_binds_names_and_caps_by_limit() -> None:
    wh = history_wh(None)
    warehouse: Any = wh
    runs = History(warehouse).recent_runs(["b", "a", "a"], limit=3, now=NOW)
    assert runs == {"a": [], "b": []}
    (_, sql, params) = wh.of("fetch")[0]
    assert "where newest <= 3" in sql and params == ["a", "b"]
    History(warehouse).recent_runs(["a"], limit=0, now=NOW)
    assert "newest <=" not in wh.of("fetch")[-2][1]


def test_missing_tables_read_as_empty() -> None:
    wh = RecordingWarehouse()
    warehouse: Any = wh
    history = History(warehouse)
    assert history.recent_runs(["crm"], limit=5, now=NOW) == {"crm": []}
    assert history.open_error_counts(["crm"]) == {"crm": 0}
    assert history.open_errors("crm", limit=5) == []
    assert history.syncs_with_state() == []
    assert history.snapshot_rows("crm") == 0
    assert wh.of("fetch") == []


def test_open_error_counts_fill_in_zero() -> None:
    wh = RecordingWarehouse()
    wh.tables["db.main.lambda_sync_errors"] = ["sync_name"]
    wh.answer("count(*)", [("crm", 4)])
    warehouse: Any = wh
    assert History(warehouse).open_error_counts(["crm", "erp"]) == {"crm": 4, "erp": 0}
    assert "resolved_at is null and sync_name in (?, ?)" in wh.of("fetch")[0][1]


# --- selecting syncs ------------------------------------------------------------------------------

DECLARED = [
    DeclaredSync("crm", "customers"),
    DeclaredSync("erp", "customers"),
    DeclaredSync("billing", "invoices"),
    DeclaredSync("old", "gone", orphaned=True),
]


def test_select_syncs_by_sync_or_model_name() -> None:
    assert select_syncs(DECLARED, []) == DECLARED
    assert [s.name for s in select_syncs(DECLARED, ["customers"])] == ["crm", "erp"]
    assert [s.name for s in select_syncs(DECLARED, ["billing", "old"])] == ["billing", "old"]


def test_select_syncs_names_every_unknown_selector() -> None:
    with pytest.raises(UsageError) as info:
        select_syncs(DECLARED, ["nope", "gone"])  # an orphan's model selects nothing
    assert "'nope'" in str(info.value) and "'gone'" in str(info.value)


def test_one_sync() -> None:
    assert one_sync(DECLARED, "invoices").name == "billing"
    assert one_sync(DECLARED, "crm").name == "crm"
    with pytest.raises(UsageError, match="model 'customers' has several syncs"):
        one_sync(DECLARED, "customers")


def test_declared_sync_defaults_from_the_schema() -> None:
    assert DeclaredSync("crm", "customers").initial_sync == "backfill"
