{#-
  Moves a sync's snapshot past plan rows and drops them from the plan: added and changed rows write
  their row into the snapshot, removed rows delete it. `rows_where` selects the plan rows (SQL over
  the plans table, aliased `plans`). The caller wraps this in the transaction that also writes its
  logs (one checkpoint).
-#}
{% macro apply_plan_rows(sync_name, run_id, now, rows_where) -%}
  {{ return(adapter.dispatch('apply_plan_rows', 'dbt_lambda_sync')(
      sync_name, run_id, now, rows_where)) }}
{%- endmacro %}


{% macro default__apply_plan_rows(sync_name, run_id, now, rows_where) -%}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set plans = dbt_lambda_sync.lambda_sync_relation('lambda_sync_plans') -%}
  {%- set snapshots = dbt_lambda_sync.lambda_sync_relation('lambda_sync_snapshots') -%}
  {%- set state = dbt_lambda_sync.lambda_sync_relation('lambda_sync_state') -%}
  {%- set sync = dbt_lambda_sync.sql_literal(sync_name) -%}
  {%- set applied -%}
    select plans.seq, plans.primary_key, plans.operation, plans.row_hash, plans.row_json
    from {{ plans }} as plans
    where plans.sync_name = {{ sync }} and plans.operation <> 'duplicate' and ({{ rows_where }})
  {%- endset -%}

  {%- do run_query("delete from " ~ snapshots ~ " where sync_name = " ~ sync
      ~ " and primary_key in (select primary_key from (" ~ applied ~ ") as applied)") -%}
  {%- do run_query("insert into " ~ snapshots
      ~ " (sync_name, primary_key, row_hash, row_json, delivered_run_id, delivered_at)"
      ~ " select " ~ sync ~ ", applied.primary_key, applied.row_hash, applied.row_json, "
      ~ dbt_lambda_sync.sql_literal(run_id)
      ~ ", cast(" ~ dbt_lambda_sync.sql_literal(now) ~ " as " ~ dbt.type_timestamp() ~ ")"
      ~ " from (" ~ applied ~ ") as applied"
      ~ " where applied.operation in ('added', 'changed')") -%}
  {#- a confirmed key holds its planned version at the destination: settled -#}
  {%- do run_query("delete from " ~ dbt_lambda_sync.lambda_sync_relation('lambda_sync_unsettled')
      ~ " where sync_name = " ~ sync
      ~ " and primary_key in (select primary_key from (" ~ applied ~ ") as applied)") -%}
  {%- do run_query("delete from " ~ plans ~ " where sync_name = " ~ sync
      ~ " and seq in (select seq from (" ~ applied ~ ") as applied)") -%}
  {#- the plan still matches the snapshot it now describes: both versions move together -#}
  {%- do run_query("update " ~ state ~ " set"
      ~ " plan_snapshot_version = case when plan_snapshot_version = snapshot_version"
      ~ " then snapshot_version + 1 else plan_snapshot_version end"
      ~ ", snapshot_version = snapshot_version + 1"
      ~ ", snapshot_columns = coalesce(plan_columns, snapshot_columns)"
      ~ " where sync_name = " ~ sync) -%}
  {{ return(none) }}
{%- endmacro %}
