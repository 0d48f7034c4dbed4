{#-
  Records on the sync's state row whether its model was last built with --empty (the dbt
  invocation_id) or not (none). Only the state row: the stored plan and the snapshot stay as
  they were.
-#}
{% macro record_empty_build(sync_name, model_name, invocation) -%}
  {{ return(adapter.dispatch('record_empty_build', 'dbt_lambda_sync')(
      sync_name, model_name, invocation)) }}
{%- endmacro %}


{% macro default__record_empty_build(sync_name, model_name, invocation) -%}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- do dbt_lambda_sync.ensure_state_row(sync_name, model_name) -%}
  {%- do run_query("update " ~ dbt_lambda_sync.lambda_sync_relation('lambda_sync_state')
      ~ " set empty_build_invocation_id = "
      ~ (dbt_lambda_sync.sql_literal(invocation) if invocation else "null")
      ~ " where sync_name = " ~ dbt_lambda_sync.sql_literal(sync_name)) -%}
{%- endmacro %}
