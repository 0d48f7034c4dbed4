"""lambda_sync_errors: a checkpoint's failures upserted, set-based, whatever their number."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from dbt_lambda_sync.checkpoint import Failure
from dbt_lambda_sync.warehouse import Warehouse

# The temporary table a checkpoint stages its failures in (one per warehouse session).
FAILURE_STAGE = "lambda_sync_failures_stage"


def prepare_failure_stage(wh: Warehouse) -> None:
    """Creates record_failures' staging table for this session, if missing. Call it outside the
    checkpoint's transaction: on Snowflake every DDL statement commits the open transaction.
    """
    # Unqualified: a temporary table lives in the session's own schema on every warehouse.
    wh.execute(
        f"create temporary table if not exists {FAILURE_STAGE} (primary_key_value varchar,"
        " operation varchar, reason varchar, attempts integer, row_json varchar)"
    )


def record_failures(
    wh: Warehouse,
    errors: Any,
    failures: Sequence[Failure],
    *,
    sync_name: str,
    model_name: str,
    run_id: str,
    now: datetime,
) -> None:
    """Upserts the failures into lambda_sync_errors, set-based: the failures go to a
    temporary staging table (one bulk insert), then one UPDATE of the keys already there and
    one INSERT of the others, whatever the number of rows. Call it inside the checkpoint's
    transaction, after prepare_failure_stage: the staging rows are deleted before it commits.
    """
    if not failures:
        return
    latest = {f.primary_key: f for f in failures}  # one row per key; the last failure wins
    stage = FAILURE_STAGE
    wh.insert_rows(
        stage,
        ["primary_key_value", "operation", "reason", "attempts", "row_json"],
        [(f.primary_key, f.operation, f.reason, f.attempts, f.row_json) for f in latest.values()],
    )
    # A failure after a resolution starts a new episode: attempts and first_failed_* restart.
    wh.execute(
        f"update {errors} as e set operation = s.operation, reason = s.reason,"
        " attempts = case when e.resolved_at is null then e.attempts + s.attempts"
        " else s.attempts end,"
        " first_failed_run_id = case when e.resolved_at is null then e.first_failed_run_id"
        " else cast(? as varchar) end,"
        " first_failed_at = case when e.resolved_at is null then e.first_failed_at"
        " else cast(? as timestamp) end,"
        " last_failed_run_id = cast(? as varchar), last_failed_at = cast(? as timestamp),"
        " row_json = s.row_json, resolved_at = null, resolved_run_id = null,"
        " resolution = null"
        f" from {stage} as s"
        # md5: the index on PostgreSQL (keys of any length; create_sync_indexes)
        " where e.sync_name = ? and md5(e.primary_key_value) = md5(s.primary_key_value)"
        " and e.primary_key_value = s.primary_key_value",
        [run_id, now, run_id, now, sync_name],
    )
    wh.execute(
        f"insert into {errors} (sync_name, model_name, primary_key_value, operation, reason,"
        " attempts, first_failed_run_id, last_failed_run_id, first_failed_at,"
        " last_failed_at, row_json)"
        " select cast(? as varchar), cast(? as varchar), s.primary_key_value, s.operation,"
        " s.reason, s.attempts, cast(? as varchar), cast(? as varchar),"
        " cast(? as timestamp), cast(? as timestamp), s.row_json"
        f" from {stage} as s where not exists (select 1 from {errors} as e"
        " where e.sync_name = ? and md5(e.primary_key_value) = md5(s.primary_key_value)"
        " and e.primary_key_value = s.primary_key_value)",
        [sync_name, model_name, run_id, run_id, now, now, sync_name],
    )
    wh.execute(f"delete from {stage}")
