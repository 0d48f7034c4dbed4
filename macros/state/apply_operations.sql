{#-
  Moves the snapshot past every plan row of the given operations without sending them: operations
  not in `triggers`, and the first run of an `initial_sync: skip` sync.
-#}
{% macro apply_operations(sync_name, operations, run_id, now) -%}
  {{ return(adapter.dispatch('apply_operations', 'dbt_lambda_sync')(
      sync_name, operations, run_id, now)) }}
{%- endmacro %}


{% macro default__apply_operations(sync_name, operations, run_id, now) -%}
  {%- if not execute or operations | length == 0 -%}{{ return(none) }}{%- endif -%}
  {%- set ops = [] -%}
  {%- for op in operations -%}{%- do ops.append(dbt_lambda_sync.sql_literal(op)) -%}{%- endfor -%}
  {%- do dbt_lambda_sync.apply_plan_rows(sync_name, run_id, now,
      "plans.operation in (" ~ ops | join(', ') ~ ")") -%}
  {{ return(none) }}
{%- endmacro %}
