"""error_log: a checkpoint's failures upserted into lambda_sync_errors, set-based.

The statements are checked here against a recording warehouse (their number, order and bound
parameters); what they do to the table (episodes, attempts) is tested by the integration tests.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dbt_lambda_sync.checkpoint import Failure
from dbt_lambda_sync.error_log import FAILURE_STAGE, prepare_failure_stage, record_failures
from tests.support.recording_warehouse import RecordingWarehouse

NOW = datetime(2026, 1, 2, 3, 4, 5)
ERRORS = "db.main.lambda_sync_errors"


def record(wh: RecordingWarehouse, failures: list[Failure]) -> None:
    warehouse: Any = wh
    record_failures(
        warehouse, ERRORS, failures, sync_name="crm", model_name="customers", run_id="r9", now=NOW
    )


def test_no_failures_touch_nothing() -> None:
    wh = RecordingWarehouse()
    record(wh, [])
    assert wh.calls == []


def test_failures_are_staged_then_updated_inserted_and_cleared() -> None:
    wh = RecordingWarehouse()
    record(wh, [Failure("1", "added", "boom", '{"id": 1}', 2)])
    kinds = [kind for kind, _, _ in wh.calls]
    assert kinds == ["insert", "execute", "execute", "execute"]
    insert, update, upsert, clear = wh.calls
    assert insert[1] == FAILURE_STAGE
    assert insert[2] == (
        ["primary_key_value", "operation", "reason", "attempts", "row_json"],
        [("1", "added", "boom", 2, '{"id": 1}')],
    )
    assert update[1].startswith(f"update {ERRORS} as e ")
    assert update[2] == ["r9", NOW, "r9", NOW, "crm"]
    assert upsert[1].startswith(f"insert into {ERRORS} ")
    assert "where not exists" in upsert[1]
    assert upsert[2] == ["crm", "customers", "r9", "r9", NOW, NOW, "crm"]
    assert clear[1] == f"delete from {FAILURE_STAGE}"


def test_the_stage_is_made_apart_from_the_upsert() -> None:
    """DDL of its own: on Snowflake it would commit the checkpoint's transaction."""
    wh = RecordingWarehouse()
    warehouse: Any = wh
    prepare_failure_stage(warehouse)
    [(kind, sql, _)] = wh.calls
    assert kind == "execute"
    assert sql.startswith(f"create temporary table if not exists {FAILURE_STAGE} ")


def test_one_row_per_key_and_the_last_failure_wins() -> None:
    wh = RecordingWarehouse()
    record(
        wh,
        [
            Failure("1", "added", "first", None, 1),
            Failure("2", "removed", "other", None, 1),
            Failure("1", "changed", "last", "{}", 3),
        ],
    )
    (insert,) = wh.of("insert")
    assert insert[2][1] == [("1", "changed", "last", 3, "{}"), ("2", "removed", "other", 1, None)]


def test_values_are_bound_never_written_into_the_sql() -> None:
    wh = RecordingWarehouse()
    record(wh, [Failure("o'brien; drop table x", "added", "it's broken", None, 1)])
    for _, sql, _ in wh.of("execute"):
        assert "o'brien" not in sql and "it's broken" not in sql
