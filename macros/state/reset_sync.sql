{#- Forgets a sync's snapshot and plan, so that its next run is a first run again. -#}
{% macro reset_sync(sync_name, model_name, now) -%}
  {{ return(adapter.dispatch('reset_sync', 'dbt_lambda_sync')(sync_name, model_name, now)) }}
{%- endmacro %}


{% macro default__reset_sync(sync_name, model_name, now) -%}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set sync = dbt_lambda_sync.sql_literal(sync_name) -%}
  {%- do dbt_lambda_sync.ensure_state_row(sync_name, model_name) -%}
  {%- for table in ['lambda_sync_snapshots', 'lambda_sync_plans', 'lambda_sync_unsettled'] -%}
    {%- do run_query("delete from " ~ dbt_lambda_sync.lambda_sync_relation(table)
        ~ " where sync_name = " ~ sync) -%}
  {%- endfor -%}
  {%- do run_query("update " ~ dbt_lambda_sync.lambda_sync_relation('lambda_sync_state') ~ " set"
      ~ " initialized = false, snapshot_version = snapshot_version + 1, plan_invocation_id = null"
      ~ ", snapshot_key_signature = null, snapshot_columns = null"
      ~ ", plan_version = coalesce(plan_version, 0) + 1"
      ~ ", updated_at = cast(" ~ dbt_lambda_sync.sql_literal(now) ~ " as " ~ dbt.type_timestamp() ~ ")"
      ~ " where sync_name = " ~ sync) -%}
  {{ return(none) }}
{%- endmacro %}
