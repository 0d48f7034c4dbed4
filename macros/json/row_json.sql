{#-
  The rows the runner sends are rendered as JSON text by the warehouse, once, so the runner never
  parses or re-encodes a row. Both macros below shape that text; the SELECT around them is shared.
-#}

{#- One column as the value to put in the row object; dates and timestamps must come out ISO 8601. -#}
{% macro json_value(column) -%}
  {{ return(adapter.dispatch('json_value', 'dbt_lambda_sync')(column)) }}
{%- endmacro %}


{#- PostgreSQL's row_to_json already writes ISO 8601 timestamps and quotes NaN and Infinity. -#}
{% macro default__json_value(column) -%}
  {{ return(dbt_lambda_sync.quote_identifier(column.name)) }}
{%- endmacro %}


{#-
  DuckDB's to_json writes timestamps with a space instead of 'T' and NaN/Infinity bare (not JSON);
  give both the same form PostgreSQL uses.
-#}
{% macro duckdb__json_value(column) -%}
  {%- set name = dbt_lambda_sync.quote_identifier(column.name) -%}
  {%- set dtype = column.dtype | upper -%}
  {%- if dtype.startswith('TIMESTAMP') -%}
    {{ return("replace(cast(" ~ name ~ " as varchar), ' ', 'T')") }}
  {%- elif dtype in ('DOUBLE', 'FLOAT', 'REAL', 'FLOAT4', 'FLOAT8') -%}
    {{ return("case when isfinite(" ~ name ~ ") or " ~ name ~ " is null then to_json(" ~ name ~ ")"
        ~ " when isnan(" ~ name ~ ") then to_json('NaN')"
        ~ " when " ~ name ~ " > 0 then to_json('Infinity') else to_json('-Infinity') end") }}
  {%- else -%}
    {{ return(name) }}
  {%- endif -%}
{%- endmacro %}


{#- A row alias (every column of a subquery) as JSON object text, keys in column order. -#}
{% macro row_to_json_text(alias) -%}
  {{ return(adapter.dispatch('row_to_json_text', 'dbt_lambda_sync')(alias)) }}
{%- endmacro %}


{% macro default__row_to_json_text(alias) -%}
  {{ return("cast(row_to_json(" ~ alias ~ ") as " ~ dbt.type_string() ~ ")") }}
{%- endmacro %}


{% macro duckdb__row_to_json_text(alias) -%}
  {{ return("cast(to_json(" ~ alias ~ ") as varchar)") }}
{%- endmacro %}


{#-
  SELECT primary_key (as text), row_json from a relation, for the given dbt Column objects.
  The subquery's alias names the whole row (row_to_json / to_json of it): a column of the same
  name would be taken instead (DuckDB sends that column's value as the row, PostgreSQL fails), so
  the alias is one no selected column has.
-#}
{% macro row_json_select(relation, columns, primary_key_column) -%}
  {%- set taken = columns | map(attribute='name') | map('lower') | list -%}
  {%- set aliases = ['dls_row'] -%}
  {%- for column in columns -%}{%- do aliases.append('dls_row_' ~ loop.index) -%}{%- endfor -%}
  {%- set row = aliases | reject('in', taken) | first -%}
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
{%- endmacro %}
