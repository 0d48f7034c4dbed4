{#-
  A column's name as events spell it (the row objects' keys and primary_key_column): the name the
  warehouse reports, except where the warehouse folds unquoted names to upper case.
-#}
{% macro event_column_name(column) -%}
  {{ return(adapter.dispatch('event_column_name', 'dbt_lambda_sync')(column)) }}
{%- endmacro %}


{% macro default__event_column_name(column) -%}
  {%- do dbt_lambda_sync._unsupported_adapter() -%}
{%- endmacro %}


{#- PostgreSQL: the name as the warehouse reports it (unquoted names are folded to lower case). -#}
{% macro postgres__event_column_name(column) -%}
  {{ return(column) }}
{%- endmacro %}


{#- DuckDB: as PostgreSQL (names keep the case they were created with). -#}
{% macro duckdb__event_column_name(column) -%}
  {{ return(dbt_lambda_sync.postgres__event_column_name(column)) }}
{%- endmacro %}


{#-
  Snowflake folds an unquoted name to upper case (customer_id is stored as CUSTOMER_ID): such a
  name is sent in lower case, as DuckDB and PostgreSQL would send it, so one handler serves all
  three. A name with a lower-case letter or a character an unquoted name cannot hold was quoted
  on purpose and is kept. var('lambda_sync_column_case', 'lower'): 'stored' keeps every name as
  Snowflake stores it.
-#}
{% macro snowflake__event_column_name(column) -%}
  {%- set case = var('lambda_sync_column_case', 'lower') -%}
  {%- if case not in ('lower', 'stored') -%}
    {%- do exceptions.raise_compiler_error("var lambda_sync_column_case must be 'lower' or"
        ~ " 'stored' (got " ~ (case | tojson) ~ ")") -%}
  {%- endif -%}
  {%- if case == 'lower' and modules.re.match('^[A-Z_][A-Z0-9_$]*$', column) -%}
    {{ return(column | lower) }}
  {%- endif -%}
  {{ return(column) }}
{%- endmacro %}
