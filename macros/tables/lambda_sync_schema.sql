{#-
  Where the package keeps its tables: var('lambda_sync_schema'), else <target schema>_lambda_sync.
  The name is quoted as an identifier wherever it is used (dbt's relations), and put into string
  literals by dbt's own catalog macros, which do not escape it: a quote or a NUL is refused here,
  before any SQL is built from it. Any other character ('?', '%', spaces, non-ASCII) is kept.
-#}
{% macro lambda_sync_schema() -%}
  {{ return(adapter.dispatch('lambda_sync_schema', 'dbt_lambda_sync')()) }}
{%- endmacro %}


{% macro default__lambda_sync_schema() -%}
  {%- set schema = var('lambda_sync_schema', target.schema ~ '_lambda_sync') | string -%}
  {%- if '"' in schema or "'" in schema or '`' in schema or '\x00' in schema -%}
    {%- do exceptions.raise_compiler_error("var lambda_sync_schema must not contain quotes or NUL"
        ~ " (got " ~ (schema | tojson) ~ ")") -%}
  {%- endif -%}
  {{ return(schema) }}
{%- endmacro %}
