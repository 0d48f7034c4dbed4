{#-
  Creates the package's tables when they are missing. Called by the post-hook and by the runner,
  so either can run first. Every statement is idempotent.
-#}
{% macro create_sync_tables() -%}
  {{ return(adapter.dispatch('create_sync_tables', 'dbt_lambda_sync')()) }}
{%- endmacro %}


{% macro default__create_sync_tables() -%}
  {%- set text = dbt.type_string() -%}
  {%- set ts = dbt.type_timestamp() -%}
  {%- set int = dbt.type_bigint() -%}
  {%- set bool = dbt.type_boolean() -%}
  {%- set rel = dbt_lambda_sync.lambda_sync_relation -%}
  {%- do adapter.create_schema(rel('lambda_sync_state')) -%}

  {%- set statements = [] -%}
  {#- One row per sync: first-run flag, the stored plan's provenance and version, the lease. -#}
  {%- do statements.append("create table if not exists " ~ rel('lambda_sync_state') ~ " (
      sync_name " ~ text ~ " not null,
      model_name " ~ text ~ ",
      initialized " ~ bool ~ " not null,
      snapshot_version " ~ int ~ " not null,
      plan_snapshot_version " ~ int ~ ",
      plan_version " ~ int ~ ",
      plan_invocation_id " ~ text ~ ",
      plan_definition " ~ text ~ ",
      plan_computed_at " ~ ts ~ ",
      plan_invalid_rows " ~ int ~ ",
      plan_sent_version " ~ int ~ ",
      lease_holder " ~ text ~ ",
      lease_expires_at " ~ ts ~ ",
      lease_host " ~ text ~ ",
      lease_pid " ~ int ~ ",
      updated_at " ~ ts ~ ")") -%}
  {#- What was last delivered, per sync and key: the compared columns' hash and the row as sent. -#}
  {%- do statements.append("create table if not exists " ~ rel('lambda_sync_snapshots') ~ " (
      sync_name " ~ text ~ " not null,
      primary_key " ~ text ~ " not null,
      row_hash " ~ text ~ " not null,
      row_json " ~ text ~ " not null,
      delivered_run_id " ~ text ~ ",
      delivered_at " ~ ts ~ ")") -%}
  {#- The pending change set; seq orders it for paging. -#}
  {%- do statements.append("create table if not exists " ~ rel('lambda_sync_plans') ~ " (
      sync_name " ~ text ~ " not null,
      seq " ~ int ~ " not null,
      operation " ~ text ~ " not null,
      primary_key " ~ text ~ " not null,
      row_json " ~ text ~ ",
      row_hash " ~ text ~ ",
      previous_json " ~ text ~ ",
      key_rows " ~ int ~ ")") -%}
  {#- Rows sent without a confirmed result (a killed runner, a timeout): the destination may hold
      them. Kept until the key is confirmed, so a later plan re-sends the key's current state even
      when the model went back to the version in the snapshot. -#}
  {%- do statements.append("create table if not exists " ~ rel('lambda_sync_unsettled') ~ " (
      sync_name " ~ text ~ " not null,
      primary_key " ~ text ~ " not null,
      operation " ~ text ~ ",
      row_json " ~ text ~ ")") -%}
  {%- do statements.append("create table if not exists " ~ rel('lambda_sync_runs') ~ " (
      run_id " ~ text ~ " not null,
      sync_name " ~ text ~ " not null,
      model_name " ~ text ~ ",
      started_at " ~ ts ~ ",
      finished_at " ~ ts ~ ",
      status " ~ text ~ ",
      first_run " ~ bool ~ ",
      dry_run " ~ bool ~ ",
      planned_added " ~ int ~ ",
      planned_changed " ~ int ~ ",
      planned_removed " ~ int ~ ",
      delivered_rows " ~ int ~ ",
      rejected_rows " ~ int ~ ",
      invalid_rows " ~ int ~ ",
      skipped_rows " ~ int ~ ",
      invocations " ~ int ~ ",
      retries " ~ int ~ ",
      error " ~ text ~ ")") -%}
  {%- do statements.append("create table if not exists " ~ rel('lambda_sync_invocations') ~ " (
      run_id " ~ text ~ " not null,
      sync_name " ~ text ~ " not null,
      invocation_id " ~ text ~ " not null,
      attempt " ~ int ~ ",
      operation " ~ text ~ ",
      row_count " ~ int ~ ",
      started_at " ~ ts ~ ",
      duration_ms " ~ int ~ ",
      outcome " ~ text ~ ",
      status_code " ~ int ~ ",
      function_error " ~ text ~ ",
      error_code " ~ text ~ ",
      error_message " ~ text ~ ",
      executed_version " ~ text ~ ",
      request_id " ~ text ~ ",
      rejected_rows " ~ int ~ ",
      note " ~ text ~ ")") -%}
  {%- do statements.append("create table if not exists " ~ rel('lambda_sync_errors') ~ " (
      sync_name " ~ text ~ " not null,
      model_name " ~ text ~ ",
      primary_key_value " ~ text ~ " not null,
      operation " ~ text ~ ",
      reason " ~ text ~ ",
      attempts " ~ int ~ ",
      first_failed_run_id " ~ text ~ ",
      last_failed_run_id " ~ text ~ ",
      first_failed_at " ~ ts ~ ",
      last_failed_at " ~ ts ~ ",
      row_json " ~ text ~ ",
      resolved_at " ~ ts ~ ",
      resolved_run_id " ~ text ~ ")") -%}
  {%- for statement in statements -%}
    {%- do run_query(statement) -%}
  {%- endfor -%}
  {#- plan_version is bumped by every plan computation: a checkpoint applies seqs only of the plan
      its rows were read from; lease_host and lease_pid name the lease holder's process. Tables
      created before a column existed get it (looked up first, because ALTER TABLE locks the
      table on PostgreSQL even when the column exists). -#}
  {%- set state_columns = adapter.get_columns_in_relation(rel('lambda_sync_state'))
      | map(attribute='name') | map('lower') | list -%}
  {%- set added = [('plan_version', int), ('plan_sent_version', int), ('lease_host', text),
                   ('lease_pid', int)] -%}
  {%- for column, type in added if column not in state_columns -%}
    {%- do run_query("alter table " ~ rel('lambda_sync_state') ~ " add column " ~ column ~ " " ~ type) -%}
  {%- endfor -%}
  {%- do dbt_lambda_sync.create_sync_indexes() -%}
{%- endmacro %}


{#- Indexes that keep the per-sync lookups and the plan paging cheap. -#}
{% macro create_sync_indexes() -%}
  {{ return(adapter.dispatch('create_sync_indexes', 'dbt_lambda_sync')()) }}
{%- endmacro %}


{#- DuckDB: no indexes. Its zone maps serve the range scans, and ART indexes slow bulk writes. -#}
{% macro default__create_sync_indexes() -%}
{%- endmacro %}


{% macro postgres__create_sync_indexes() -%}
  {%- set rel = dbt_lambda_sync.lambda_sync_relation -%}
  {%- set indexes = [
      ('lambda_sync_state', 'sync_name', true),
      ('lambda_sync_snapshots', 'sync_name, primary_key', true),
      ('lambda_sync_plans', 'sync_name, seq', true),
      ('lambda_sync_plans', 'sync_name, primary_key', false),
      ('lambda_sync_runs', 'sync_name, started_at', false),
      ('lambda_sync_invocations', 'run_id', false),
      ('lambda_sync_errors', 'sync_name, primary_key_value', true),
  ] -%}
  {%- for table, columns, unique in indexes -%}
    {%- set name = table ~ '__' ~ columns | replace(', ', '__') ~ '_idx' -%}
    {%- do run_query("create " ~ ("unique " if unique else "") ~ "index if not exists " ~ name
        ~ " on " ~ rel(table) ~ " (" ~ columns ~ ")") -%}
  {%- endfor -%}
{%- endmacro %}
