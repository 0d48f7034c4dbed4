{#- Upserts the sync's state row with the plan's provenance; keeps the lease and first-run flag. -#}
{% macro record_plan(sync_name, model_name, invocation, definition, invalid_rows, now,
                     signature=none) -%}
  {{ return(adapter.dispatch('record_plan', 'dbt_lambda_sync')(
      sync_name, model_name, invocation, definition, invalid_rows, now, signature)) }}
{%- endmacro %}


{% macro default__record_plan(sync_name, model_name, invocation, definition, invalid_rows, now,
                              signature) -%}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set state = dbt_lambda_sync.lambda_sync_relation('lambda_sync_state') -%}
  {%- set sync = dbt_lambda_sync.sql_literal(sync_name) -%}
  {%- do dbt_lambda_sync.ensure_state_row(sync_name, model_name) -%}
  {%- do run_query("update " ~ state ~ " set"
      ~ " model_name = " ~ dbt_lambda_sync.sql_literal(model_name)
      ~ ", plan_snapshot_version = snapshot_version"
      ~ ", plan_invocation_id = " ~ (dbt_lambda_sync.sql_literal(invocation) if invocation else "null")
      ~ ", plan_definition = " ~ dbt_lambda_sync.sql_literal(definition)
      ~ ", plan_computed_at = cast(" ~ dbt_lambda_sync.sql_literal(now) ~ " as " ~ dbt.type_timestamp() ~ ")"
      ~ ", plan_invalid_rows = " ~ invalid_rows
      ~ ", plan_sent_version = null"
      ~ (", plan_key_signature = " ~ dbt_lambda_sync.sql_literal(signature.key)
         ~ ", plan_columns = " ~ dbt_lambda_sync.sql_literal(signature.columns) if signature else "")
      ~ ", updated_at = cast(" ~ dbt_lambda_sync.sql_literal(now) ~ " as " ~ dbt.type_timestamp() ~ ")"
      ~ " where sync_name = " ~ sync) -%}
{%- endmacro %}
