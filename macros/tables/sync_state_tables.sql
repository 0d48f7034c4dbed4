{#-
  The package's tables that hold a sync's state (as opposed to its history: runs, invocations,
  errors), each with a sync_name column. prune removes a sync's rows from every one of them and
  renamed_from moves them to the new name: a table added to create_sync_tables that holds
  per-sync state belongs in this list.
-#}
{% macro sync_state_tables() -%}
  {{ return(adapter.dispatch('sync_state_tables', 'dbt_lambda_sync')()) }}
{%- endmacro %}


{% macro default__sync_state_tables() -%}
  {{ return(['lambda_sync_snapshots', 'lambda_sync_plans', 'lambda_sync_unsettled',
             'lambda_sync_invalid_rows', 'lambda_sync_state']) }}
{%- endmacro %}
