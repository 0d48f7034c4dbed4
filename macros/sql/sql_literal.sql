{#-
  A value as a SQL string literal, safe for any text: the one way the package's macros put a
  string into SQL. dbt.string_literal only wraps the value in quotes, so a name with an apostrophe
  breaks the statement or injects SQL. Standard SQL doubles the quote; PostgreSQL with
  standard_conforming_strings (the default since 9.1) and DuckDB treat backslashes literally in
  '...' strings, so doubling is the whole escape there. A NUL cannot be stored in text on
  PostgreSQL: callers validate names before building SQL from them.
-#}
{% macro sql_literal(value) -%}
  {{ return(adapter.dispatch('sql_literal', 'dbt_lambda_sync')(value)) }}
{%- endmacro %}


{% macro default__sql_literal(value) -%}
  {%- do dbt_lambda_sync._unsupported_adapter() -%}
{%- endmacro %}


{#- DuckDB: standard SQL's doubled quote is the whole escape (backslashes are literal). -#}
{% macro duckdb__sql_literal(value) -%}
  {{ return(dbt_lambda_sync._doubled_quote_literal(value)) }}
{%- endmacro %}


{#- PostgreSQL: as DuckDB, with standard_conforming_strings (the default since 9.1). -#}
{% macro postgres__sql_literal(value) -%}
  {{ return(dbt_lambda_sync._doubled_quote_literal(value)) }}
{%- endmacro %}


{#- Snowflake: a backslash starts an escape sequence in '...' literals; double it too. -#}
{% macro snowflake__sql_literal(value) -%}
  {{ return(dbt_lambda_sync._doubled_quote_literal(value | string | replace("\\", "\\\\"))) }}
{%- endmacro %}


{% macro _doubled_quote_literal(value) -%}
  {{ return("'" ~ (value | string | replace("'", "''")) ~ "'") }}
{%- endmacro %}
