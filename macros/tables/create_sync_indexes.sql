{#- Indexes that keep the per-sync lookups and the plan paging cheap. -#}
{% macro create_sync_indexes() -%}
  {{ return(adapter.dispatch('create_sync_indexes', 'dbt_lambda_sync')()) }}
{%- endmacro %}


{% macro default__create_sync_indexes() -%}
  {%- do dbt_lambda_sync._unsupported_adapter() -%}
{%- endmacro %}


{#- DuckDB: no indexes (its zone maps serve the range scans, and ART indexes slow bulk writes). -#}
{% macro duckdb__create_sync_indexes() -%}
{%- endmacro %}


{#- Snowflake: no indexes (standard tables have none; micro-partition pruning serves the scans). -#}
{% macro snowflake__create_sync_indexes() -%}
{%- endmacro %}


{#-
  PostgreSQL: btree indexes. Keys are indexed by their md5, never as they are: a btree entry holds
  at most ~2,700 bytes, and a longer key (a text column used as the key) would fail every insert of
  the sync's snapshot or errors, so the model's capture or the run's checkpoint, forever. Lookups
  of one key add md5(key) = md5(value) to use them. Indexes on the raw key made by earlier versions
  are dropped.
-#}
{% macro postgres__create_sync_indexes() -%}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set rel = dbt_lambda_sync.lambda_sync_relation -%}
  {%- set indexes = [
      ('lambda_sync_state', 'sync_name', 'sync_name', true),
      ('lambda_sync_snapshots', 'sync_name__md5_primary_key', 'sync_name, md5(primary_key)', true),
      ('lambda_sync_plans', 'sync_name__seq', 'sync_name, seq', true),
      ('lambda_sync_runs', 'sync_name__started_at', 'sync_name, started_at', false),
      ('lambda_sync_invocations', 'run_id', 'run_id', false),
      ('lambda_sync_errors', 'sync_name__md5_primary_key_value', 'sync_name, md5(primary_key_value)',
       true),
      ('lambda_sync_invalid_rows', 'sync_name', 'sync_name', false),
  ] -%}
  {%- for old in ['lambda_sync_snapshots__sync_name__primary_key_idx',
                  'lambda_sync_plans__sync_name__primary_key_idx',
                  'lambda_sync_errors__sync_name__primary_key_value_idx'] -%}
    {%- do run_query("drop index if exists " ~ adapter.quote(rel('lambda_sync_state').schema) ~ "."
        ~ adapter.quote(old)) -%}
  {%- endfor -%}
  {%- for table, suffix, columns, unique in indexes -%}
    {%- do run_query("create " ~ ("unique " if unique else "") ~ "index if not exists "
        ~ adapter.quote(table ~ '__' ~ suffix ~ '_idx') ~ " on " ~ rel(table) ~ " (" ~ columns ~ ")") -%}
  {%- endfor -%}
{%- endmacro %}
