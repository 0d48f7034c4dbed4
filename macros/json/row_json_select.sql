{#-
  The rows the runner sends are rendered as JSON text by the warehouse, once, so the runner never
  parses or re-encodes a row: SELECT primary_key (as text), row_json from a relation, for the given
  dbt Column objects (json_value shapes each column, row_to_json_text the row).
  The subquery's alias names the whole row (row_to_json / to_json of it): a column of the same
  name would be taken instead (DuckDB sends that column's value as the row, PostgreSQL fails), so
  the alias is one no selected column has.
-#}
{% macro row_json_select(relation, columns, primary_key_column) -%}
  {{ return(adapter.dispatch('row_json_select', 'dbt_lambda_sync')(
      relation, columns, primary_key_column)) }}
{%- endmacro %}


{% macro default__row_json_select(relation, columns, primary_key_column) -%}
  {%- do dbt_lambda_sync._unsupported_adapter() -%}
{%- endmacro %}


{#- PostgreSQL: the row alias of a subquery of the shaped columns, as JSON (row_to_json_text). -#}
{% macro postgres__row_json_select(relation, columns, primary_key_column) -%}
  {%- set taken = columns | map(attribute='name') | map('lower') | list -%}
  {%- set aliases = ['dls_row'] -%}
  {%- for column in columns -%}{%- do aliases.append('dls_row_' ~ loop.index) -%}{%- endfor -%}
  {%- set row = aliases | reject('in', taken) | first -%}
  {%- set sql -%}
  select
    cast({{ row }}.{{ dbt_lambda_sync.quote_identifier(primary_key_column.name) }} as {{ dbt.type_string() }}) as primary_key,
    {{ dbt_lambda_sync.row_to_json_text(row) }} as row_json
  from (
    select
      {%- for column in columns %}
      {{ dbt_lambda_sync.json_value(column) }} as {{ dbt_lambda_sync.quote_identifier(column.name) }}{{ "," if not loop.last }}
      {%- endfor %}
    from {{ relation }}
  ) as {{ row }}
  {%- endset -%}
  {{ return(sql) }}
{%- endmacro %}


{#- DuckDB: as PostgreSQL (row_to_json_text and json_value differ, the query does not). -#}
{% macro duckdb__row_json_select(relation, columns, primary_key_column) -%}
  {{ return(dbt_lambda_sync.postgres__row_json_select(relation, columns, primary_key_column)) }}
{%- endmacro %}


{#-
  Snowflake has no row-to-JSON of a subquery alias: the object is built with its keys spelled out
  (object_construct_keep_null keeps NULLs as JSON null). Snowflake orders an object's keys by
  name, not by column.
-#}
{% macro snowflake__row_json_select(relation, columns, primary_key_column) -%}
  {%- set pairs = [] -%}
  {%- for column in columns -%}
    {%- do pairs.append(dbt_lambda_sync.sql_literal(dbt_lambda_sync.event_column_name(column.name))
        ~ ", " ~ dbt_lambda_sync.json_value(column)) -%}
  {%- endfor -%}
  {%- set sql -%}
  select
    cast({{ dbt_lambda_sync.json_value(primary_key_column) }} as {{ dbt.type_string() }}) as primary_key,
    to_json(object_construct_keep_null({{ pairs | join(', ') }})) as row_json
  from {{ relation }}
  {%- endset -%}
  {{ return(sql) }}
{%- endmacro %}
