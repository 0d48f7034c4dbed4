"""reporting: the plain-data summaries the core hands its reporter, and their JSON forms."""

from __future__ import annotations

import json

import pytest

from dbt_lambda_sync.reporting import NullReporter, PlanSummary, Progress, Reporter, RunSummary


def run_summary(**overrides: object) -> RunSummary:
    values: dict[str, object] = dict(
        run_id="r1",
        sync="crm_customers",
        model="customers",
        status="succeeded",
        first_run=False,
        planned_added=3,
        planned_changed=2,
        planned_removed=1,
        delivered_rows=5,
        rejected_rows=1,
        invalid_rows=0,
        skipped_rows=0,
        invocations=2,
        retries=1,
        duration_seconds=1.5,
    )
    values.update(overrides)
    return RunSummary(**values)  # type: ignore[arg-type]


# --- PlanSummary ----------------------------------------------------------------------------------


def test_plan_total_is_added_changed_removed_not_invalid() -> None:
    plan = PlanSummary("s", "m", added=4, changed=3, removed=2, invalid=100, first_run=False)
    assert plan.total == 9


def test_plan_json_has_exactly_the_documented_keys() -> None:
    plan = PlanSummary(
        "s", "m", 1, 2, 3, 4, True, duplicate_keys=5, blocked="empty", reason="first_run"
    )
    assert plan.to_json() == {
        "name": "s",
        "model": "m",
        "added": 1,
        "changed": 2,
        "removed": 3,
        "invalid": 4,
        "first_run": True,
        "reason": "first_run",
        "blocked": "empty",
    }
    # duplicate_keys is for the screen only
    assert "duplicate_keys" not in plan.to_json()


def test_plan_json_keeps_unset_reason_and_blocked_as_null() -> None:
    out = PlanSummary("s", "m", 0, 0, 0, 0, False).to_json()
    assert out["reason"] is None and out["blocked"] is None
    assert json.loads(json.dumps(out)) == out


# --- Progress -------------------------------------------------------------------------------------


def test_progress_rate_counts_delivered_and_rejected() -> None:
    progress = Progress(
        "s",
        planned_rows=100,
        delivered_rows=30,
        rejected_rows=10,
        invocations=4,
        elapsed_seconds=8.0,
    )
    assert progress.rows_per_second == 5.0
    assert progress.seconds_left == 12.0


def test_progress_before_any_time_has_no_rate_and_no_estimate() -> None:
    progress = Progress("s", 100, 0, 0, 0, elapsed_seconds=0.0)
    assert progress.rows_per_second == 0.0
    assert progress.seconds_left is None


def test_progress_with_time_but_no_rows_has_no_estimate() -> None:
    progress = Progress("s", 100, 0, 0, 1, elapsed_seconds=3.0)
    assert progress.rows_per_second == 0.0
    assert progress.seconds_left is None


def test_progress_past_the_plan_never_estimates_negative_time() -> None:
    progress = Progress(
        "s", planned_rows=10, delivered_rows=12, rejected_rows=0, invocations=3, elapsed_seconds=2.0
    )
    assert progress.seconds_left == 0.0


# --- RunSummary -----------------------------------------------------------------------------------


def test_run_json_drops_unset_optionals_but_keeps_error() -> None:
    out = run_summary().to_json()
    assert out["error"] is None
    for unset in ("event_bytes", "note", "new_failures"):
        assert unset not in out
    assert out["delivered_rows"] == 5 and out["retries"] == 1 and out["duration_seconds"] == 1.5


def test_run_json_keeps_set_optionals_including_zero() -> None:
    out = run_summary(error="boom", event_bytes=0, note="why", new_failures=0).to_json()
    assert out["error"] == "boom"
    assert out["event_bytes"] == 0
    assert out["note"] == "why"
    assert out["new_failures"] == 0


def test_run_json_is_the_fields_in_order() -> None:
    summary = run_summary(new_failures=2)
    keys = list(summary.to_json())
    assert keys[:4] == ["run_id", "sync", "model", "status"]
    assert keys[-1] == "new_failures"
    assert json.loads(json.dumps(summary.to_json())) == summary.to_json()


def test_summaries_are_frozen() -> None:
    with pytest.raises(AttributeError):
        run_summary().status = "failed"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        PlanSummary("s", "m", 0, 0, 0, 0, False).added = 1  # type: ignore[misc]


# --- Reporter -------------------------------------------------------------------------------------


def test_null_reporter_takes_every_call_and_shows_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    reporter: Reporter = NullReporter()
    reporter.sync_started(PlanSummary("s", "m", 1, 0, 0, 0, True))
    reporter.progress(Progress("s", 1, 0, 0, 0, 0.0))
    reporter.sync_finished(run_summary())
    assert capsys.readouterr() == ("", "")
