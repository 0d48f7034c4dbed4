{#-
  Creates the package's tables when they are missing. Called by the post-hook and by the runner,
  so either can run first. Every statement is idempotent.
-#}
{% macro create_sync_tables() -%}
  {{ return(adapter.dispatch('create_sync_tables', 'dbt_lambda_sync')()) }}
{%- endmacro %}


{% macro default__create_sync_tables() -%}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set text = dbt.type_string() -%}
  {%- set ts = dbt.type_timestamp() -%}
  {%- set int = dbt.type_bigint() -%}
  {%- set bool = dbt.type_boolean() -%}
  {%- set rel = dbt_lambda_sync.lambda_sync_relation -%}
  {#- dbt's macro, not adapter.create_schema: that one commits, which would end the caller's
      transaction (and the advisory lock prepare_sync_tables holds in it on PostgreSQL) -#}
  {%- do dbt.create_schema(rel('lambda_sync_state')) -%}

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
      empty_build_invocation_id " ~ text ~ ",
      plan_key_signature " ~ text ~ ",
      snapshot_key_signature " ~ text ~ ",
      plan_columns " ~ text ~ ",
      snapshot_columns " ~ text ~ ",
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
  {#- The model rows capture could not plan: a null key, or a key on more than one row. Replaced
      by every capture, so it describes the model as last captured. -#}
  {%- do statements.append("create table if not exists " ~ rel('lambda_sync_invalid_rows') ~ " (
      sync_name " ~ text ~ " not null,
      primary_key " ~ text ~ ",
      reason " ~ text ~ " not null,
      row_json " ~ text ~ ",
      recorded_at " ~ ts ~ ")") -%}
  {%- do statements.append("create table if not exists " ~ rel('lambda_sync_runs') ~ " (
      run_id " ~ text ~ " not null,
      sync_name " ~ text ~ " not null,
      model_name " ~ text ~ ",
      started_at " ~ ts ~ ",
      finished_at " ~ ts ~ ",
      status " ~ text ~ ",
      first_run " ~ bool ~ ",
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
      resolved_run_id " ~ text ~ ",
      resolution " ~ text ~ ")") -%}
  {%- for statement in statements -%}
    {%- do run_query(statement) -%}
  {%- endfor -%}
  {#- Columns added since the tables were first released, added to tables created before them
      (looked up first, because ALTER TABLE locks the table on PostgreSQL even when the column
      exists). plan_version is bumped by every plan computation: a checkpoint applies seqs only of
      the plan its rows were read from; lease_host and lease_pid name the lease holder's
      process. resolution says how an error row was resolved. -#}
  {%- set added_columns = [
      ('lambda_sync_state', 'plan_version', int),
      ('lambda_sync_state', 'plan_sent_version', int),
      ('lambda_sync_state', 'empty_build_invocation_id', text),
      ('lambda_sync_state', 'plan_key_signature', text),
      ('lambda_sync_state', 'snapshot_key_signature', text),
      ('lambda_sync_state', 'plan_columns', text),
      ('lambda_sync_state', 'snapshot_columns', text),
      ('lambda_sync_state', 'lease_host', text),
      ('lambda_sync_state', 'lease_pid', int),
      ('lambda_sync_errors', 'resolution', text),
  ] -%}
  {%- set existing = {} -%}
  {%- for table, column, type in added_columns -%}
    {%- if table not in existing -%}
      {%- do existing.update({table: adapter.get_columns_in_relation(rel(table))
          | map(attribute='name') | map('lower') | list}) -%}
    {%- endif -%}
    {%- if column not in existing[table] -%}
      {%- do run_query("alter table " ~ rel(table) ~ " add column " ~ column ~ " " ~ type) -%}
    {%- endif -%}
  {%- endfor -%}
  {%- do dbt_lambda_sync.create_sync_indexes() -%}
{%- endmacro %}
