{#-
  Removes a sync's state: its rows in every table of sync_state_tables(), and closes its open
  errors as 'pruned'. Runs, invocations and resolved errors stay as history. The caller holds the
  sync's lease and wraps this in one transaction.
-#}
{% macro prune_sync_state(sync_name, now) -%}
  {{ return(adapter.dispatch('prune_sync_state', 'dbt_lambda_sync')(sync_name, now)) }}
{%- endmacro %}


{% macro default__prune_sync_state(sync_name, now) -%}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set sync = dbt_lambda_sync.sql_literal(sync_name) -%}
  {%- do run_query("update " ~ dbt_lambda_sync.lambda_sync_relation('lambda_sync_errors')
      ~ " set resolved_at = cast(" ~ dbt_lambda_sync.sql_literal(now) ~ " as "
      ~ dbt.type_timestamp() ~ "), resolved_run_id = null, resolution = "
      ~ dbt_lambda_sync.sql_literal('pruned')
      ~ " where sync_name = " ~ sync ~ " and resolved_at is null") -%}
  {%- for table in dbt_lambda_sync.sync_state_tables() -%}
    {%- do run_query("delete from " ~ dbt_lambda_sync.lambda_sync_relation(table)
        ~ " where sync_name = " ~ sync) -%}
  {%- endfor -%}
  {{ return(none) }}
{%- endmacro %}
