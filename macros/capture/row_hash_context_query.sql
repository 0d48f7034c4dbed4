{#-
  A SELECT of one row: what the rendered JSON depends on in the session besides the values (the
  engine's version, the time zone), hashed into row_hash_expression's signature.
-#}
{% macro row_hash_context_query() -%}
  {{ return(adapter.dispatch('row_hash_context_query', 'dbt_lambda_sync')()) }}
{%- endmacro %}


{#- version() and current_setting('TimeZone'): PostgreSQL's, which DuckDB answers too. -#}
{% macro default__row_hash_context_query() -%}
  {{ return("select version(), current_setting('TimeZone')") }}
{%- endmacro %}


{#- Snowflake: the server's version (json_value writes times in UTC, whatever the session's). -#}
{% macro snowflake__row_hash_context_query() -%}
  {{ return("select current_version()") }}
{%- endmacro %}
