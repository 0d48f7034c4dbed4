{#-
  One column as the value to put in the row object (row_json_select); dates and timestamps must
  come out ISO 8601.
-#}
{% macro json_value(column) -%}
  {{ return(adapter.dispatch('json_value', 'dbt_lambda_sync')(column)) }}
{%- endmacro %}


{% macro default__json_value(column) -%}
  {%- do dbt_lambda_sync._unsupported_adapter() -%}
{%- endmacro %}


{#- PostgreSQL: the column as it is; row_to_json already writes ISO 8601 timestamps and quotes NaN
    and Infinity. -#}
{% macro postgres__json_value(column) -%}
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


{#-
  Snowflake: timestamps as ISO 8601 in UTC (those with a zone converted, so the text does not
  depend on the session's TIMEZONE), NaN and Infinity as strings (to_json writes them bare).
  The 'T' is put in by replace: a quoted literal in the format is not understood everywhere.
-#}
{% macro snowflake__json_value(column) -%}
  {%- set name = dbt_lambda_sync.quote_identifier(column.name) -%}
  {%- set dtype = column.dtype | upper -%}
  {%- set iso = "'YYYY-MM-DD HH24:MI:SS.FF6'" -%}
  {%- if dtype in ('TIMESTAMP_TZ', 'TIMESTAMP_LTZ') -%}
    {{ return("replace(to_varchar(cast(convert_timezone('UTC', " ~ name ~ ") as timestamp_ntz), "
        ~ iso ~ "), ' ', 'T') || '+00:00'") }}
  {%- elif dtype.startswith('TIMESTAMP') or dtype == 'DATETIME' -%}
    {{ return("replace(to_varchar(" ~ name ~ ", " ~ iso ~ "), ' ', 'T')") }}
  {%- elif column.is_float() -%}
    {{ return("case when " ~ name ~ " = 'NaN'::float then to_variant('NaN')"
        ~ " when " ~ name ~ " = 'inf'::float then to_variant('Infinity')"
        ~ " when " ~ name ~ " = '-inf'::float then to_variant('-Infinity')"
        ~ " else to_variant(" ~ name ~ ") end") }}
  {%- else -%}
    {{ return(name) }}
  {%- endif -%}
{%- endmacro %}
