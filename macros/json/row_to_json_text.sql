{#- A row alias (every column of a subquery) as JSON object text, keys in column order. -#}
{% macro row_to_json_text(alias) -%}
  {{ return(adapter.dispatch('row_to_json_text', 'dbt_lambda_sync')(alias)) }}
{%- endmacro %}


{#- Standard SQL has no row-to-JSON function: each warehouse the package supports has its own. -#}
{% macro default__row_to_json_text(alias) -%}
  {%- do dbt_lambda_sync._unsupported_adapter() -%}
{%- endmacro %}


{#- PostgreSQL: row_to_json of the row alias. -#}
{% macro postgres__row_to_json_text(alias) -%}
  {{ return("cast(row_to_json(" ~ alias ~ ") as " ~ dbt.type_string() ~ ")") }}
{%- endmacro %}


{#- DuckDB: to_json of the row alias (a struct). -#}
{% macro duckdb__row_to_json_text(alias) -%}
  {{ return("cast(to_json(" ~ alias ~ ") as varchar)") }}
{%- endmacro %}


{#-
  Snowflake has no JSON of a subquery's row alias: snowflake__row_json_select builds each row's
  object from its columns instead, and never calls this.
-#}
{% macro snowflake__row_to_json_text(alias) -%}
  {%- do exceptions.raise_compiler_error("dbt-lambda-sync: row_to_json_text is not used on"
      ~ " Snowflake (snowflake__row_json_select builds each row's object from its columns)") -%}
{%- endmacro %}
