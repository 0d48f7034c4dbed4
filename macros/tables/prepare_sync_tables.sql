{#-
  The package's own on-run-start (dbt_project.yml): the lambda sync schema and tables exist, at
  their current shape, before any model of a dbt invocation runs. Models building in parallel
  threads would otherwise race to create them (PostgreSQL: a duplicate key in pg_namespace or
  pg_type; DuckDB: a catalog write-write conflict), and a model selecting from the package's
  sources would fail in a fresh environment. Idempotent. The runner calls create_sync_tables
  itself; the post-hook only when the tables are missing (DDL there would take table locks
  inside each model's transaction, which parallel models then deadlock on).
-#}
{% macro prepare_sync_tables() -%}
  {{ return(adapter.dispatch('prepare_sync_tables', 'dbt_lambda_sync')()) }}
{%- endmacro %}


{% macro default__prepare_sync_tables() -%}
  {%- do dbt_lambda_sync._unsupported_adapter() -%}
{%- endmacro %}


{#- DuckDB: no advisory lock (one process at a time opens a database file for writing). -#}
{% macro duckdb__prepare_sync_tables() -%}
  {{ return(dbt_lambda_sync._prepare_sync_tables_in_dbt_transaction()) }}
{%- endmacro %}


{#- Snowflake: as DuckDB, without PostgreSQL's advisory lock (Snowflake has none). -#}
{% macro snowflake__prepare_sync_tables() -%}
  {{ return(dbt_lambda_sync._prepare_sync_tables_in_dbt_transaction()) }}
{%- endmacro %}


{#-
  PostgreSQL: concurrent dbt invocations (two projects, two schedulers) may start at once. A
  transaction-level advisory lock keyed on the schema makes the second wait until the first has
  committed, then find everything in place. The explicit BEGIN matters: dbt has already sent a
  COMMIT on this connection, after which every statement commits alone (see
  postgres__compute_plan) and the lock would be released as soon as it was taken.
-#}
{% macro postgres__prepare_sync_tables() -%}
  {%- if not execute -%}{{ return('') }}{%- endif -%}
  {%- do run_query('begin') -%}
  {%- do run_query("select pg_advisory_xact_lock(hashtextextended("
      ~ dbt_lambda_sync.sql_literal('dbt_lambda_sync:' ~ dbt_lambda_sync.lambda_sync_schema())
      ~ ", 0))") -%}
  {%- do dbt_lambda_sync.create_sync_tables() -%}
  {%- do run_query('commit') -%}
  {{ return('') }}
{%- endmacro %}


{#-
  One transaction, opened and committed through dbt (dbt runs on-run-start hooks outside one, and
  dbt's create_schema statement would otherwise leave one open that is rolled back after the
  hook).
-#}
{% macro _prepare_sync_tables_in_dbt_transaction() -%}
  {%- if not execute -%}{{ return('') }}{%- endif -%}
  {%- do adapter.execute('select 1', auto_begin=True) -%}
  {%- do dbt_lambda_sync.create_sync_tables() -%}
  {%- do adapter.commit() -%}
  {{ return('') }}
{%- endmacro %}
