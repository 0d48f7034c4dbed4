{#-
  A SELECT of one row: what the rendered JSON depends on in the session besides the values (the
  engine's version, the time zone), hashed into row_hash_expression's signature.
-#}
{% macro row_hash_context_query() -%}
  {{ return(adapter.dispatch('row_hash_context_query', 'dbt_lambda_sync')()) }}
{%- endmacro %}


{% macro default__row_hash_context_query() -%}
  {%- do dbt_lambda_sync._unsupported_adapter() -%}
{%- endmacro %}


{#- PostgreSQL: version() and current_setting('TimeZone'). -#}
{% macro postgres__row_hash_context_query() -%}
  {{ return("select version(), current_setting('TimeZone')") }}
{%- endmacro %}


{#- DuckDB: as PostgreSQL (DuckDB answers both). -#}
{% macro duckdb__row_hash_context_query() -%}
  {{ return(dbt_lambda_sync.postgres__row_hash_context_query()) }}
{%- endmacro %}


{#- Snowflake: the server's version (json_value writes times in UTC, whatever the session's). -#}
{% macro snowflake__row_hash_context_query() -%}
  {{ return("select current_version()") }}
{%- endmacro %}
