{#-
  Memory for compute_plan's first statement (the aggregate over every key): `raise` before it
  returns the value to put back, `restore` after it puts that value back.
-#}
{% macro capture_work_mem(action, previous=none) -%}
  {{ return(adapter.dispatch('capture_work_mem', 'dbt_lambda_sync')(action, previous)) }}
{%- endmacro %}


{% macro default__capture_work_mem(action, previous) -%}
  {%- do dbt_lambda_sync._unsupported_adapter() -%}
{%- endmacro %}


{#-
  PostgreSQL's default work_mem (4MB) makes the aggregate over every key spill to disk in many
  batches (the post-hook runs before the model has statistics): the first statement runs with
  var('lambda_sync_capture_work_mem', '64MB') when the current value is lower, and the value it had
  is put back right after (session-level, so it holds whether or not a transaction is open).
  Set the var to '' to leave work_mem alone.
-#}
{% macro postgres__capture_work_mem(action, previous) -%}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- if action == 'raise' -%}
    {%- set wanted = var('lambda_sync_capture_work_mem', '64MB') -%}
    {%- if not wanted -%}{{ return(none) }}{%- endif -%}
    {%- set current = run_query("select current_setting('work_mem'), pg_size_bytes(current_setting("
        ~ "'work_mem')) < pg_size_bytes(" ~ dbt_lambda_sync.sql_literal(wanted) ~ ")").rows[0] -%}
    {%- if current[1] -%}
      {%- do run_query("select set_config('work_mem', " ~ dbt_lambda_sync.sql_literal(wanted) ~ ", false)") -%}
      {{ return(current[0]) }}
    {%- endif -%}
  {%- elif previous -%}
    {%- do run_query("select set_config('work_mem', " ~ dbt_lambda_sync.sql_literal(previous) ~ ", false)") -%}
  {%- endif -%}
  {{ return(none) }}
{%- endmacro %}


{#- DuckDB: nothing to tune (memory_limit is the whole database's, not a statement's). -#}
{% macro duckdb__capture_work_mem(action, previous) -%}
  {{ return(none) }}
{%- endmacro %}


{#- Snowflake: nothing to tune (a query's memory is its warehouse's size). -#}
{% macro snowflake__capture_work_mem(action, previous) -%}
  {{ return(none) }}
{%- endmacro %}
