{#-
  Moves a sync's snapshot past the keys in lambda_sync_confirmed for one run, and drops them from
  the plan. A confirmed key counts only while the plan still holds the very version that was sent
  (same operation and hash): if the plan was recomputed meanwhile, the key is left pending and is
  sent again, never marked delivered with content it was not sent with.
  The caller wraps this in the transaction that also writes its logs (one checkpoint).
-#}
{% macro apply_confirmed(sync_name, run_id, now) -%}
  {{ return(adapter.dispatch('apply_confirmed', 'dbt_lambda_sync')(sync_name, run_id, now)) }}
{%- endmacro %}


{% macro default__apply_confirmed(sync_name, run_id, now) -%}
  {%- set plans = dbt_lambda_sync.lambda_sync_relation('lambda_sync_plans') -%}
  {%- set snapshots = dbt_lambda_sync.lambda_sync_relation('lambda_sync_snapshots') -%}
  {%- set confirmed = dbt_lambda_sync.lambda_sync_relation('lambda_sync_confirmed') -%}
  {%- set state = dbt_lambda_sync.lambda_sync_relation('lambda_sync_state') -%}
  {%- set sync = dbt.string_literal(sync_name) -%}
  {%- set run = dbt.string_literal(run_id) -%}
  {#- Joined on seq too: a checkpoint then costs the rows it confirms, not the size of the plan. -#}
  {%- set matched -%}
    select plans.seq, plans.primary_key, plans.operation, plans.row_hash, plans.row_json
    from {{ confirmed }} as confirmed
    join {{ plans }} as plans
      on plans.sync_name = confirmed.sync_name
     and plans.seq = confirmed.seq
     and plans.primary_key = confirmed.primary_key
     and plans.operation = confirmed.operation
     and plans.row_hash = confirmed.row_hash
    where confirmed.sync_name = {{ sync }} and confirmed.run_id = {{ run }}
      and plans.operation <> 'duplicate'
  {%- endset -%}

  {%- do run_query("delete from " ~ snapshots ~ " where sync_name = " ~ sync
      ~ " and primary_key in (select primary_key from (" ~ matched ~ ") as matched)") -%}
  {%- do run_query("insert into " ~ snapshots
      ~ " (sync_name, primary_key, row_hash, row_json, delivered_run_id, delivered_at)"
      ~ " select " ~ sync ~ ", matched.primary_key, matched.row_hash, matched.row_json, " ~ run
      ~ ", cast(" ~ dbt.string_literal(now) ~ " as " ~ dbt.type_timestamp() ~ ")"
      ~ " from (" ~ matched ~ ") as matched"
      ~ " where matched.operation in ('added', 'changed')") -%}
  {%- do run_query("delete from " ~ plans ~ " where sync_name = " ~ sync
      ~ " and seq in (select seq from (" ~ matched ~ ") as matched)") -%}
  {%- do run_query("delete from " ~ confirmed ~ " where sync_name = " ~ sync
      ~ " and run_id = " ~ run) -%}
  {#- the plan still matches the snapshot it now describes: both versions move together -#}
  {%- do run_query("update " ~ state ~ " set"
      ~ " plan_snapshot_version = case when plan_snapshot_version = snapshot_version"
      ~ " then snapshot_version + 1 else plan_snapshot_version end"
      ~ ", snapshot_version = snapshot_version + 1"
      ~ " where sync_name = " ~ sync) -%}
  {{ return(none) }}
{%- endmacro %}


{#-
  Moves the snapshot past every plan row of the given operations without sending them: operations
  not in `triggers`, and the first run of an `initial_sync: skip` sync.
-#}
{% macro apply_operations(sync_name, operations, run_id, now) -%}
  {%- set plans = dbt_lambda_sync.lambda_sync_relation('lambda_sync_plans') -%}
  {%- set confirmed = dbt_lambda_sync.lambda_sync_relation('lambda_sync_confirmed') -%}
  {%- if operations | length == 0 -%}{{ return(0) }}{%- endif -%}
  {%- set ops = [] -%}
  {%- for op in operations -%}{%- do ops.append(dbt.string_literal(op)) -%}{%- endfor -%}
  {%- do run_query("insert into " ~ confirmed
      ~ " (sync_name, run_id, seq, primary_key, operation, row_hash)"
      ~ " select sync_name, " ~ dbt.string_literal(run_id) ~ ", seq, primary_key, operation, row_hash"
      ~ " from " ~ plans ~ " where sync_name = " ~ dbt.string_literal(sync_name)
      ~ " and operation in (" ~ ops | join(', ') ~ ")") -%}
  {%- do dbt_lambda_sync.apply_confirmed(sync_name, run_id, now) -%}
  {{ return(none) }}
{%- endmacro %}


{#- Forgets a sync's snapshot and plan, so that its next run is a first run again. -#}
{% macro reset_sync(sync_name, model_name, now) -%}
  {%- set sync = dbt.string_literal(sync_name) -%}
  {%- do dbt_lambda_sync.ensure_state_row(sync_name, model_name) -%}
  {%- for table in ['lambda_sync_snapshots', 'lambda_sync_plans', 'lambda_sync_confirmed'] -%}
    {%- do run_query("delete from " ~ dbt_lambda_sync.lambda_sync_relation(table)
        ~ " where sync_name = " ~ sync) -%}
  {%- endfor -%}
  {%- do run_query("update " ~ dbt_lambda_sync.lambda_sync_relation('lambda_sync_state') ~ " set"
      ~ " initialized = false, snapshot_version = snapshot_version + 1, plan_invocation_id = null"
      ~ ", updated_at = cast(" ~ dbt.string_literal(now) ~ " as " ~ dbt.type_timestamp() ~ ")"
      ~ " where sync_name = " ~ sync) -%}
  {{ return(none) }}
{%- endmacro %}
