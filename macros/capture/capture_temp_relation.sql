{#-
  A temporary table of the capture, dropped before compute_plan returns. Schema-qualified where
  the adapter allows, so that a table of the same name in the target schema is never touched.
-#}
{% macro capture_temp_relation(name) -%}
  {{ return(adapter.dispatch('capture_temp_relation', 'dbt_lambda_sync')(name)) }}
{%- endmacro %}


{% macro default__capture_temp_relation(name) -%}
  {%- do dbt_lambda_sync._unsupported_adapter() -%}
{%- endmacro %}


{#- PostgreSQL: the session's temporary schema. -#}
{% macro postgres__capture_temp_relation(name) -%}
  {{ return('pg_temp.' ~ name) }}
{%- endmacro %}


{#- DuckDB: the temp catalog's schema. -#}
{% macro duckdb__capture_temp_relation(name) -%}
  {{ return('temp.main.' ~ name) }}
{%- endmacro %}


{#-
  Snowflake: in the package's own schema. A temporary table there shadows no user table, and
  a bare name would land in the model's schema, where "drop table if exists" could reach a
  permanent table of the same name.
-#}
{% macro snowflake__capture_temp_relation(name) -%}
  {{ return(dbt_lambda_sync.lambda_sync_relation(name)) }}
{%- endmacro %}
