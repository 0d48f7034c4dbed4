{#-
  One column as the value to put in the row object (row_json_select); dates and timestamps must
  come out ISO 8601.
-#}
{% macro json_value(column) -%}
  {{ return(adapter.dispatch('json_value', 'dbt_lambda_sync')(column)) }}
{%- endmacro %}


{#- The column as it is: PostgreSQL's row_to_json already writes ISO 8601 timestamps and quotes NaN
    and Infinity. -#}
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
