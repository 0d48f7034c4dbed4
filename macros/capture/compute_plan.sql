{#-
  Computes a sync's change set (its plan) inside the warehouse, set-based: the model's rows against
  the sync's snapshot of what was last delivered. Replaces the stored plan and records what it was
  computed from, so the runner can tell when it is stale.
  `invocation` is the dbt invocation_id when the post-hook computes the plan (none from the
  runner): the runner reuses a plan only when it was computed by the latest dbt invocation.
-#}
{% macro compute_plan(sync_name, model_name, relation, primary_key, columns=none, now=none,
                      invocation=none) -%}
  {{ return(adapter.dispatch('compute_plan', 'dbt_lambda_sync')(
      sync_name, model_name, relation, primary_key, columns, now, invocation)) }}
{%- endmacro %}


{% macro default__compute_plan(sync_name, model_name, relation, primary_key, columns, now,
                               invocation) -%}
  {%- do dbt_lambda_sync._unsupported_adapter() -%}
{%- endmacro %}


{#- DuckDB: the plan's statements as they are, without PostgreSQL's BEGIN and COMMIT. -#}
{% macro duckdb__compute_plan(sync_name, model_name, relation, primary_key, columns, now,
                              invocation) -%}
  {{ return(dbt_lambda_sync._compute_plan(
      sync_name, model_name, relation, primary_key, columns, now, invocation)) }}
{%- endmacro %}


{#-
  Snowflake: every DDL statement commits the open transaction, so the capture's temporary tables
  are built between two transactions. The first claims the plan (a runner's next checkpoint then
  applies nothing of the old plan, so the snapshot holds still while it is read); the second
  replaces the plan, all at once. dbt-snowflake runs each statement in autocommit and sends no
  BEGIN; a BEGIN inside an open transaction fails: the caller's (the runner's) is committed
  first, as the first DDL statement would.
-#}
{% macro snowflake__compute_plan(sync_name, model_name, relation, primary_key, columns, now,
                                 invocation) -%}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- do run_query('commit') -%}
  {%- do run_query('begin') -%}
  {%- do dbt_lambda_sync.claim_plan(sync_name, model_name) -%}
  {%- do run_query('commit') -%}
  {%- set inputs = dbt_lambda_sync._plan_inputs(
      sync_name, model_name, relation, primary_key, columns, now, invocation) -%}
  {%- do dbt_lambda_sync._find_candidates(inputs.sync, relation, inputs.capture, inputs.temp) -%}
  {%- do run_query('begin') -%}
  {%- if dbt_lambda_sync.adopt_signature(sync_name, inputs.provenance.signature) -%}
    {%- do dbt_lambda_sync._write_plan(inputs, relation) -%}
  {%- else -%}
    {%- do dbt_lambda_sync._write_blocked_plan(inputs) -%}
  {%- endif -%}
  {%- do run_query('commit') -%}
  {%- do dbt_lambda_sync._drop_capture_tables(inputs.temp) -%}
  {{ return(none) }}
{%- endmacro %}


{#- The plan's statements, in the caller's transaction if any (DuckDB, PostgreSQL). -#}
{% macro _compute_plan(sync_name, model_name, relation, primary_key, columns, now, invocation) -%}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- do dbt_lambda_sync.claim_plan(sync_name, model_name) -%}
  {%- set inputs = dbt_lambda_sync._plan_inputs(
      sync_name, model_name, relation, primary_key, columns, now, invocation) -%}
  {#- 0. A snapshot keyed by another key (or another rendering of it) cannot be diffed. -#}
  {%- if not dbt_lambda_sync.adopt_signature(sync_name, inputs.provenance.signature) -%}
    {%- do dbt_lambda_sync._write_blocked_plan(inputs) -%}
    {{ return(none) }}
  {%- endif -%}
  {%- do dbt_lambda_sync._find_candidates(inputs.sync, relation, inputs.capture, inputs.temp) -%}
  {%- do dbt_lambda_sync._write_plan(inputs, relation) -%}
  {%- do dbt_lambda_sync._drop_capture_tables(inputs.temp) -%}
  {{ return(none) }}
{%- endmacro %}


{#-
  What a capture works from: how the model is read (_capture_keys), the sync as a literal, its
  temporary tables and the provenance record_plan stores (the signature among it). Reads only.
-#}
{% macro _plan_inputs(sync_name, model_name, relation, primary_key, columns, now, invocation) -%}
  {%- set capture = dbt_lambda_sync._capture_keys(sync_name, model_name, relation, primary_key, columns) -%}
  {%- set now = now or modules.datetime.datetime.utcnow().strftime('%Y-%m-%d %H:%M:%S.%f') -%}
  {{ return({
      'sync_name': sync_name,
      'model_name': model_name,
      'sync': dbt_lambda_sync.sql_literal(sync_name),
      'capture': capture,
      'now': now,
      'temp': {'key_table': dbt_lambda_sync.capture_temp_relation('dls_capture_keys'),
               'candidate_table': dbt_lambda_sync.capture_temp_relation('dls_capture_candidates')},
      'provenance': {'invocation': invocation, 'now': now,
                     'signature': dbt_lambda_sync.sync_signature(capture.selected),
                     'definition': dbt_lambda_sync.definition_key(primary_key, columns)}}) }}
{%- endmacro %}


{#-
  A snapshot keyed by another key (or another rendering of it) cannot be diffed: its keys would
  all look removed, carrying rows of the old key. Plan nothing; the runner refuses the sync until
  it is reset.
-#}
{% macro _write_blocked_plan(inputs) -%}
  {%- do run_query("delete from " ~ dbt_lambda_sync.lambda_sync_relation('lambda_sync_plans')
      ~ " where sync_name = " ~ inputs.sync) -%}
  {%- do dbt_lambda_sync._record_computed_plan(
      inputs.sync_name, inputs.model_name, inputs.provenance, 0) -%}
{%- endmacro %}


{#- Replaces the stored plan from the capture's temporary tables (DML only). -#}
{% macro _write_plan(inputs, relation) -%}
  {%- set sync = inputs.sync -%}
  {%- set temp = inputs.temp -%}
  {%- set plans = dbt_lambda_sync.lambda_sync_relation('lambda_sync_plans') -%}
  {#- 3. The plan. -#}
  {%- do dbt_lambda_sync.carry_unsettled(inputs.sync_name) -%}
  {%- do run_query("delete from " ~ plans ~ " where sync_name = " ~ sync) -%}
  {%- do run_query(dbt_lambda_sync._insert_plan(sync, temp.candidate_table)) -%}

  {#-
    4. Rows delivered with the same content but hashed otherwise (by an older version of this
       package, another engine version): store the current hash, so that the next capture skips
       them without rendering them.
  -#}
  {%- set same_content = "key_rows = 1 and old_hash is not null and new_json = old_json" -%}
  {%- set rehash = run_query("select count(*) from " ~ temp.candidate_table ~ " where " ~ same_content)
      .columns[0].values()[0] -%}
  {%- if rehash | int > 0 -%}
    {%- do run_query("update " ~ dbt_lambda_sync.lambda_sync_relation('lambda_sync_snapshots')
        ~ " as target set row_hash = refreshed.new_hash"
        ~ " from (select primary_key, new_hash from " ~ temp.candidate_table ~ " where " ~ same_content
        ~ ") as refreshed where target.sync_name = " ~ sync
        ~ " and target.primary_key = refreshed.primary_key") -%}
  {%- endif -%}

  {%- set invalid_rows = dbt_lambda_sync._record_unplanned_rows(
      sync, relation, inputs.capture, temp, inputs.now) -%}
  {%- do dbt_lambda_sync._record_computed_plan(
      inputs.sync_name, inputs.model_name, inputs.provenance, invalid_rows) -%}
{%- endmacro %}


{#- Drops the capture's temporary tables (made by _find_candidates). -#}
{% macro _drop_capture_tables(temp) -%}
  {%- do run_query("drop table " ~ temp.candidate_table) -%}
  {%- do run_query("drop table " ~ temp.key_table) -%}
{%- endmacro %}


{#-
  PostgreSQL: one transaction, even inside dbt. dbt sends no BEGIN of its own there, and after
  its first COMMIT on a connection every statement would commit alone (see
  Warehouse.transaction). A BEGIN inside an open transaction only warns.
-#}
{% macro postgres__compute_plan(sync_name, model_name, relation, primary_key, columns, now,
                                invocation) -%}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- do run_query('begin') -%}
  {%- do dbt_lambda_sync._compute_plan(
      sync_name, model_name, relation, primary_key, columns, now, invocation) -%}
  {%- do run_query('commit') -%}
  {{ return(none) }}
{%- endmacro %}


{#- The state row's record of the plan just computed (record_plan). -#}
{% macro _record_computed_plan(sync_name, model_name, provenance, invalid_rows) -%}
  {%- do dbt_lambda_sync.record_plan(
      sync_name, model_name,
      invocation=provenance.invocation,
      definition=provenance.definition,
      invalid_rows=invalid_rows,
      now=provenance.now,
      signature=provenance.signature) -%}
{%- endmacro %}


{#-
  Fills the capture's temporary tables (temp.key_table, temp.candidate_table: dropped by
  _drop_capture_tables).
  1. Every model row's key and hash (typed columns, no JSON) against the snapshot's keys and
     hashes, in one full outer join. Keeps what can be in the plan: keys on one side only,
     duplicated keys (grouping on the key), and keys whose hash differs, with the snapshot's
     row_json (picked up by the join's scan of the snapshot; a second join costs more).
  2. The JSON of those keys' model rows, rendered by the warehouse (the smallest per key).
-#}
{% macro _find_candidates(sync, relation, capture, temp) -%}
  {%- set text = dbt.type_string() -%}
  {%- set model_keys = dbt_lambda_sync._model_key_groups(relation, capture,
      capture.key_text ~ " as primary_key, count(*) as key_rows, cast(min("
      ~ dbt_lambda_sync.row_hash_expression(capture.selected) ~ ") as " ~ text ~ ") as row_hash") -%}
  {%- set find_keys -%}
    create temporary table {{ temp.key_table }} as
    select
      coalesce(model_keys.primary_key, delivered.primary_key) as primary_key,
      model_keys.key_rows,
      model_keys.row_hash as new_hash,
      delivered.row_hash as old_hash,
      delivered.row_json as old_json
    from ({{ model_keys }}) as model_keys
    full outer join (
      select primary_key, row_hash, row_json
      from {{ dbt_lambda_sync.lambda_sync_relation('lambda_sync_snapshots') }}
      where sync_name = {{ sync }}
    ) as delivered
      on delivered.primary_key = model_keys.primary_key
    where model_keys.primary_key is null
       or delivered.primary_key is null
       or model_keys.key_rows > 1
       or model_keys.row_hash <> delivered.row_hash
  {%- endset -%}
  {#- left behind only if an earlier capture in this session failed between create and drop -#}
  {%- do run_query("drop table if exists " ~ temp.candidate_table) -%}
  {%- do run_query("drop table if exists " ~ temp.key_table) -%}
  {%- set work_mem = dbt_lambda_sync.capture_work_mem('raise') -%}
  {%- do run_query(find_keys) -%}
  {%- do dbt_lambda_sync.capture_work_mem('restore', work_mem) -%}

  {%- set candidate_rows -%}
    (select * from {{ relation }}
     where {{ capture.key_text }} in (select primary_key from {{ temp.key_table }} where key_rows is not null)
    ) as dls_candidate_rows
  {%- endset -%}
  {%- set find_candidates -%}
    create temporary table {{ temp.candidate_table }} as
    select
      candidate.primary_key,
      candidate.key_rows,
      candidate.new_hash,
      candidate.old_hash,
      current_rows.row_json as new_json,
      candidate.old_json
    from {{ temp.key_table }} as candidate
    left join (
      select primary_key, min(row_json) as row_json
      from ({{ dbt_lambda_sync.row_json_select(candidate_rows, capture.selected, capture.key_column) }}) as rendered
      group by primary_key
    ) as current_rows
      on current_rows.primary_key = candidate.primary_key
  {%- endset -%}
  {%- do run_query(find_candidates) -%}
{%- endmacro %}


{#-
  The INSERT of the plan from the candidates: the changes, numbered in the order a run sends
  them. A hash that differs over the same JSON text is no change.
-#}
{% macro _insert_plan(sync, candidates) -%}
  {%- set text = dbt.type_string() -%}
  {%- set plans = dbt_lambda_sync.lambda_sync_relation('lambda_sync_plans') -%}
  {%- set snapshots = dbt_lambda_sync.lambda_sync_relation('lambda_sync_snapshots') -%}
  {%- set unsettled = dbt_lambda_sync.lambda_sync_relation('lambda_sync_unsettled') -%}
  {%- set change = "key_rows is null or key_rows > 1 or old_hash is null or new_json <> old_json" -%}
  {%- set insert_plan -%}
    insert into {{ plans }}
      (sync_name, seq, operation, primary_key, row_json, row_hash, previous_json, key_rows)
    select {{ sync }}, seq, operation, primary_key, row_json, row_hash, previous_json, key_rows
    from (
      select
        row_number() over (order by op_order, primary_key) as seq,
        operation, primary_key, row_json, row_hash, previous_json, key_rows
      from (
        select
          {# the order a run sends in: removed, changed, added (duplicates are never sent) #}
          case when key_rows > 1 then 4
               when key_rows is null then 1
               when old_hash is null then 3
               else 2 end as op_order,
          case when key_rows > 1 then 'duplicate'
               when key_rows is null then 'removed'
               when old_hash is null then 'added'
               else 'changed' end as operation,
          primary_key,
          case when key_rows is null then old_json else new_json end as row_json,
          case when key_rows > 1 then cast(null as {{ text }})
               when key_rows is null then old_hash
               else new_hash end as row_hash,
          case when key_rows = 1 then old_json else cast(null as {{ text }}) end as previous_json,
          coalesce(key_rows, 1) as key_rows
        from {{ candidates }}
        where {{ change }}
        union all
        {# An unsettled key the diff finds unchanged may hold another version at the destination:
            its current row again (the model went back to the snapshot's version), or a removal
            (a row added, then gone from the model before a result confirmed it). #}
        select
          case when delivered.primary_key is null then 1 else 2 end as op_order,
          case when delivered.primary_key is null then 'removed' else 'changed' end as operation,
          sent.primary_key,
          coalesce(delivered.row_json, sent.row_json) as row_json,
          delivered.row_hash,
          delivered.row_json as previous_json,
          1 as key_rows
        from {{ unsettled }} as sent
        left join {{ snapshots }} as delivered
          on delivered.sync_name = sent.sync_name and delivered.primary_key = sent.primary_key
        where sent.sync_name = {{ sync }}
          and not exists (select 1 from {{ candidates }} as candidate
                          where candidate.primary_key = sent.primary_key
                            and ({{ change }}))
      ) as changes
    ) as numbered
    order by seq
  {%- endset -%}
  {{ return(insert_plan) }}
{%- endmacro %}


{#-
  5. The rows that cannot be planned, where a user can find them: every row of a duplicated key,
     and every row with a null key (lambda_sync_invalid_rows, replaced each time); returns how
     many rows there are.
-#}
{% macro _record_unplanned_rows(sync, relation, capture, temp, now) -%}
  {%- set invalid_rows = dbt_lambda_sync.lambda_sync_relation('lambda_sync_invalid_rows') -%}
  {%- do run_query("delete from " ~ invalid_rows ~ " where sync_name = " ~ sync) -%}
  {%- set duplicate_rows = run_query("select coalesce(sum(key_rows), 0) from " ~ temp.key_table
      ~ " where key_rows > 1").columns[0].values()[0] -%}
  {%- if duplicate_rows | int > 0 -%}
    {%- do dbt_lambda_sync.record_invalid_rows(sync, capture.selected, 'duplicate_key', now,
        "(select * from " ~ relation ~ " where " ~ capture.key_text ~ " in (select primary_key from "
        ~ temp.key_table ~ " where key_rows > 1)) as dls_duplicate_rows") -%}
  {%- endif -%}
  {%- set null_keys = run_query("select count(*) from " ~ relation ~ " where "
      ~ capture.null_key).columns[0].values()[0] -%}
  {%- if null_keys | int > 0 -%}
    {%- do dbt_lambda_sync.record_invalid_rows(sync, capture.selected, 'null_key', now,
        "(select * from " ~ relation ~ " where " ~ capture.null_key ~ ") as dls_null_key_rows") -%}
  {%- endif -%}
  {{ return((null_keys | int) + (duplicate_rows | int)) }}
{%- endmacro %}
