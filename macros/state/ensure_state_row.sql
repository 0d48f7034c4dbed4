{#- Inserts the sync's state row when it has none (not initialized, snapshot_version 0). -#}
{% macro ensure_state_row(sync_name, model_name) -%}
  {{ return(adapter.dispatch('ensure_state_row', 'dbt_lambda_sync')(sync_name, model_name)) }}
{%- endmacro %}


{% macro default__ensure_state_row(sync_name, model_name) -%}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set state = dbt_lambda_sync.lambda_sync_relation('lambda_sync_state') -%}
  {%- set sync = dbt_lambda_sync.sql_literal(sync_name) -%}
  {%- do run_query("insert into " ~ state ~ " (sync_name, model_name, initialized, snapshot_version)"
      ~ " select " ~ sync ~ ", " ~ dbt_lambda_sync.sql_literal(model_name) ~ ", false, 0"
      ~ " where not exists (select 1 from " ~ state ~ " where sync_name = " ~ sync ~ ")") -%}
{%- endmacro %}
