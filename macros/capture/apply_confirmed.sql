{#-
  Moves a sync's snapshot past plan rows and drops them from the plan: added and changed rows write
  their row into the snapshot, removed rows delete it. `rows_where` selects the plan rows (SQL over
  the plans table, aliased `plans`). The caller wraps this in the transaction that also writes its
  logs (one checkpoint).
-#}
{% macro apply_plan_rows(sync_name, run_id, now, rows_where) -%}
  {{ return(adapter.dispatch('apply_plan_rows', 'dbt_lambda_sync')(
      sync_name, run_id, now, rows_where)) }}
{%- endmacro %}


{% macro default__apply_plan_rows(sync_name, run_id, now, rows_where) -%}
  {%- set plans = dbt_lambda_sync.lambda_sync_relation('lambda_sync_plans') -%}
  {%- set snapshots = dbt_lambda_sync.lambda_sync_relation('lambda_sync_snapshots') -%}
  {%- set state = dbt_lambda_sync.lambda_sync_relation('lambda_sync_state') -%}
  {%- set sync = dbt_lambda_sync.sql_literal(sync_name) -%}
  {%- set applied -%}
    select plans.seq, plans.primary_key, plans.operation, plans.row_hash, plans.row_json
    from {{ plans }} as plans
    where plans.sync_name = {{ sync }} and plans.operation <> 'duplicate' and ({{ rows_where }})
  {%- endset -%}

  {%- do run_query("delete from " ~ snapshots ~ " where sync_name = " ~ sync
      ~ " and primary_key in (select primary_key from (" ~ applied ~ ") as applied)") -%}
  {%- do run_query("insert into " ~ snapshots
      ~ " (sync_name, primary_key, row_hash, row_json, delivered_run_id, delivered_at)"
      ~ " select " ~ sync ~ ", applied.primary_key, applied.row_hash, applied.row_json, "
      ~ dbt_lambda_sync.sql_literal(run_id)
      ~ ", cast(" ~ dbt_lambda_sync.sql_literal(now) ~ " as " ~ dbt.type_timestamp() ~ ")"
      ~ " from (" ~ applied ~ ") as applied"
      ~ " where applied.operation in ('added', 'changed')") -%}
  {#- a confirmed key holds its planned version at the destination: settled -#}
  {%- do run_query("delete from " ~ dbt_lambda_sync.lambda_sync_relation('lambda_sync_unsettled')
      ~ " where sync_name = " ~ sync
      ~ " and primary_key in (select primary_key from (" ~ applied ~ ") as applied)") -%}
  {%- do run_query("delete from " ~ plans ~ " where sync_name = " ~ sync
      ~ " and seq in (select seq from (" ~ applied ~ ") as applied)") -%}
  {#- the plan still matches the snapshot it now describes: both versions move together -#}
  {%- do run_query("update " ~ state ~ " set"
      ~ " plan_snapshot_version = case when plan_snapshot_version = snapshot_version"
      ~ " then snapshot_version + 1 else plan_snapshot_version end"
      ~ ", snapshot_version = snapshot_version + 1"
      ~ ", snapshot_columns = coalesce(plan_columns, snapshot_columns)"
      ~ " where sync_name = " ~ sync) -%}
  {{ return(none) }}
{%- endmacro %}


{#-
  Moves the snapshot past the plan rows a run's results confirmed, given as inclusive seq ranges
  [[low, high], ...] (integers), and resolves their open errors. The caller has checked, in the
  same transaction and holding the state row's lock, that the plan is still the one the rows were
  read from (plan_version): seqs name rows of one plan only.
-#}
{% macro apply_confirmed(sync_name, run_id, now, seq_ranges) -%}
  {%- if seq_ranges | length == 0 -%}{{ return(none) }}{%- endif -%}
  {%- set plans = dbt_lambda_sync.lambda_sync_relation('lambda_sync_plans') -%}
  {%- set errors = dbt_lambda_sync.lambda_sync_relation('lambda_sync_errors') -%}
  {%- set sync = dbt_lambda_sync.sql_literal(sync_name) -%}
  {%- set between = [] -%}
  {%- set values = [] -%}
  {%- for low, high in seq_ranges -%}
    {%- do between.append("plans.seq between " ~ (low | int) ~ " and " ~ (high | int)) -%}
    {%- do values.append("(" ~ (low | int) ~ ", " ~ (high | int) ~ ")") -%}
  {%- endfor -%}
  {%- if seq_ranges | length <= 64 -%}
    {#- the usual case (whole batches confirmed): predicates the scan prunes by seq directly -#}
    {%- set rows_where = "(" ~ between | join(" or ") ~ ")" -%}
  {%- else -%}
    {#- many gaps (rejected rows): a join on the ranges rather than a long OR -#}
    {%- set rows_where = "plans.seq in (select plans.seq from " ~ plans ~ " as plans join"
        ~ " (values " ~ values | join(", ") ~ ") as confirmed (low, high)"
        ~ " on plans.seq between confirmed.low and confirmed.high"
        ~ " where plans.sync_name = " ~ sync ~ ")" -%}
  {%- endif -%}
  {%- do run_query("update " ~ errors ~ " set resolved_at = cast(" ~ dbt_lambda_sync.sql_literal(now)
      ~ " as " ~ dbt.type_timestamp() ~ "), resolved_run_id = " ~ dbt_lambda_sync.sql_literal(run_id)
      ~ ", resolution = " ~ dbt_lambda_sync.sql_literal('delivered')
      ~ " where sync_name = " ~ sync ~ " and resolved_at is null and primary_key_value in"
      ~ " (select primary_key from " ~ plans ~ " as plans where sync_name = " ~ sync
      ~ " and operation <> 'duplicate' and " ~ rows_where ~ ")") -%}
  {%- do dbt_lambda_sync.apply_plan_rows(sync_name, run_id, now, rows_where) -%}
  {{ return(none) }}
{%- endmacro %}


{#-
  Moves the snapshot past every plan row of the given operations without sending them: operations
  not in `triggers`, and the first run of an `initial_sync: skip` sync.
-#}
{% macro apply_operations(sync_name, operations, run_id, now) -%}
  {%- if operations | length == 0 -%}{{ return(none) }}{%- endif -%}
  {%- set ops = [] -%}
  {%- for op in operations -%}{%- do ops.append(dbt_lambda_sync.sql_literal(op)) -%}{%- endfor -%}
  {%- do dbt_lambda_sync.apply_plan_rows(sync_name, run_id, now,
      "plans.operation in (" ~ ops | join(', ') ~ ")") -%}
  {{ return(none) }}
{%- endmacro %}


{#- Forgets a sync's snapshot and plan, so that its next run is a first run again. -#}
{% macro reset_sync(sync_name, model_name, now) -%}
  {%- set sync = dbt_lambda_sync.sql_literal(sync_name) -%}
  {%- do dbt_lambda_sync.ensure_state_row(sync_name, model_name) -%}
  {%- for table in ['lambda_sync_snapshots', 'lambda_sync_plans', 'lambda_sync_unsettled'] -%}
    {%- do run_query("delete from " ~ dbt_lambda_sync.lambda_sync_relation(table)
        ~ " where sync_name = " ~ sync) -%}
  {%- endfor -%}
  {%- do run_query("update " ~ dbt_lambda_sync.lambda_sync_relation('lambda_sync_state') ~ " set"
      ~ " initialized = false, snapshot_version = snapshot_version + 1, plan_invocation_id = null"
      ~ ", snapshot_key_signature = null, snapshot_columns = null"
      ~ ", plan_version = coalesce(plan_version, 0) + 1"
      ~ ", updated_at = cast(" ~ dbt_lambda_sync.sql_literal(now) ~ " as " ~ dbt.type_timestamp() ~ ")"
      ~ " where sync_name = " ~ sync) -%}
  {{ return(none) }}
{%- endmacro %}
