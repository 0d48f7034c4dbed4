{#-
  The warehouse's current time as a naive UTC timestamp (how the package stores every time), as
  SQL text, plus `plus_seconds` when given. Leases are set and judged by this one clock, never by
  a runner's: a runner whose clock runs ahead would otherwise see a live lease as expired, take
  it over, and send alongside its holder.
-#}
{% macro utc_now(plus_seconds=none) -%}
  {{ return(adapter.dispatch('utc_now', 'dbt_lambda_sync')(plus_seconds)) }}
{%- endmacro %}


{% macro default__utc_now(plus_seconds) -%}
  {%- do dbt_lambda_sync._unsupported_adapter() -%}
{%- endmacro %}


{#- PostgreSQL: `at time zone` turns a timestamptz into UTC. -#}
{% macro postgres__utc_now(plus_seconds) -%}
  {{ return(dbt_lambda_sync._utc_now_plus(
      "(current_timestamp at time zone " ~ dbt_lambda_sync.sql_literal('UTC') ~ ")", plus_seconds)) }}
{%- endmacro %}


{#- DuckDB: as PostgreSQL (its ICU extension gives `at time zone`). -#}
{% macro duckdb__utc_now(plus_seconds) -%}
  {{ return(dbt_lambda_sync.postgres__utc_now(plus_seconds)) }}
{%- endmacro %}


{#- Snowflake: current_timestamp() is a TIMESTAMP_LTZ; convert_timezone makes it UTC wall time. -#}
{% macro snowflake__utc_now(plus_seconds) -%}
  {{ return(dbt_lambda_sync._utc_now_plus(
      "cast(convert_timezone('UTC', current_timestamp()) as timestamp_ntz)", plus_seconds)) }}
{%- endmacro %}


{#- `now` (an adapter's UTC now), plus `plus_seconds` when given, to the millisecond. -#}
{% macro _utc_now_plus(now, plus_seconds) -%}
  {%- if plus_seconds is none -%}{{ return(now) }}{%- endif -%}
  {%- set milliseconds = (plus_seconds | float * 1000) | round | int -%}
  {{ return("(" ~ dbt.dateadd('millisecond', milliseconds, now) | trim ~ ")") }}
{%- endmacro %}
