{#- A row alias (every column of a subquery) as JSON object text, keys in column order. -#}
{% macro row_to_json_text(alias) -%}
  {{ return(adapter.dispatch('row_to_json_text', 'dbt_lambda_sync')(alias)) }}
{%- endmacro %}


{#- Standard SQL has no row-to-JSON function: each warehouse the package supports has its own. -#}
{% macro default__row_to_json_text(alias) -%}
  {%- do exceptions.raise_compiler_error("dbt_lambda_sync: no row_to_json_text for adapter '"
      ~ adapter.type() ~ "' (supported: postgres, duckdb)") -%}
{%- endmacro %}


{#- PostgreSQL: row_to_json of the row alias. -#}
{% macro postgres__row_to_json_text(alias) -%}
  {{ return("cast(row_to_json(" ~ alias ~ ") as " ~ dbt.type_string() ~ ")") }}
{%- endmacro %}


{#- DuckDB: to_json of the row alias (a struct). -#}
{% macro duckdb__row_to_json_text(alias) -%}
  {{ return("cast(to_json(" ~ alias ~ ") as varchar)") }}
{%- endmacro %}
