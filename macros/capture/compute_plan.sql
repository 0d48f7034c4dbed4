{#-
  Computes a sync's change set (its plan) inside the warehouse, set-based: the model's rows against
  the sync's snapshot of what was last delivered. Replaces the stored plan and records what it was
  computed from, so the runner can tell when it is stale.
-#}
{#-
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
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set selected = dbt_lambda_sync.sync_columns(sync_name, model_name, relation, primary_key, columns) -%}
  {%- set key_column = selected[0] -%}
  {%- set sync = dbt.string_literal(sync_name) -%}
  {%- set plans = dbt_lambda_sync.lambda_sync_relation('lambda_sync_plans') -%}
  {%- set snapshots = dbt_lambda_sync.lambda_sync_relation('lambda_sync_snapshots') -%}
  {%- set text = dbt.type_string() -%}
  {%- set now = now or modules.datetime.datetime.utcnow().strftime('%Y-%m-%d %H:%M:%S.%f') -%}

  {%- do run_query("delete from " ~ plans ~ " where sync_name = " ~ sync) -%}
  {%- set insert_plan -%}
    insert into {{ plans }}
      (sync_name, seq, operation, primary_key, row_json, row_hash, previous_json, key_rows)
    with source_rows as (
      {{ dbt_lambda_sync.row_json_select(relation, selected, key_column) }}
    ),
    keyed as (
      select
        primary_key,
        row_json,
        {{ dbt.hash('row_json') }} as row_hash,
        count(*) over (partition by primary_key) as key_rows
      from source_rows
      where primary_key is not null
    ),
    delivered as (
      select primary_key, row_hash, row_json
      from {{ snapshots }}
      where sync_name = {{ sync }}
    ),
    changes as (
      select 1 as op_order, 'added' as operation, keyed.primary_key, keyed.row_json,
             keyed.row_hash, cast(null as {{ text }}) as previous_json, keyed.key_rows
      from keyed
      left join delivered on delivered.primary_key = keyed.primary_key
      where keyed.key_rows = 1 and delivered.primary_key is null
      union all
      select 2, 'changed', keyed.primary_key, keyed.row_json,
             keyed.row_hash, delivered.row_json, keyed.key_rows
      from keyed
      join delivered on delivered.primary_key = keyed.primary_key
      where keyed.key_rows = 1 and delivered.row_hash <> keyed.row_hash
      union all
      -- a removed row carries the row as it was last delivered
      select 3, 'removed', delivered.primary_key, delivered.row_json,
             delivered.row_hash, cast(null as {{ text }}), 1
      from delivered
      where not exists (select 1 from keyed where keyed.primary_key = delivered.primary_key)
      union all
      -- duplicated keys are never sent: one plan row per key, for the errors table
      select 4, 'duplicate', primary_key, min(row_json),
             cast(null as {{ text }}), cast(null as {{ text }}), count(*)
      from keyed
      where key_rows > 1
      group by primary_key
    )
    select {{ sync }}, row_number() over (order by op_order, primary_key), operation,
           primary_key, row_json, row_hash, previous_json, key_rows
    from changes
  {%- endset -%}
  {%- do run_query(insert_plan) -%}

  {%- set null_keys = run_query("select count(*) from " ~ relation ~ " where "
      ~ dbt_lambda_sync.quote_identifier(key_column.name) ~ " is null").columns[0].values()[0] -%}
  {%- set duplicate_rows = run_query("select coalesce(sum(key_rows), 0) from " ~ plans
      ~ " where sync_name = " ~ sync ~ " and operation = 'duplicate'").columns[0].values()[0] -%}
  {%- do dbt_lambda_sync.record_plan(
      sync_name, model_name,
      invocation=invocation,
      definition=dbt_lambda_sync.definition_key(primary_key, columns),
      invalid_rows=(null_keys | int) + (duplicate_rows | int),
      now=now) -%}
  {{ return(none) }}
{%- endmacro %}


{#-
  The dbt Column objects a sync compares and sends, primary key first. Stops with an error naming
  the model, the sync and the field when a configured column is not in the relation.
-#}
{% macro sync_columns(sync_name, model_name, relation, primary_key, columns) -%}
  {%- set resolved = dbt_lambda_sync.resolve_sync_columns(relation, primary_key, columns) -%}
  {%- if resolved.problem -%}
    {%- do exceptions.raise_compiler_error("model '" ~ model_name ~ "', sync '" ~ sync_name
        ~ "', " ~ resolved.problem) -%}
  {%- endif -%}
  {{ return(resolved.selected) }}
{%- endmacro %}


{#- {selected: [Column], problem: none or a message naming the field}, without raising. -#}
{% macro resolve_sync_columns(relation, primary_key, columns) -%}
  {%- set available = adapter.get_columns_in_relation(relation) -%}
  {%- if available | length == 0 -%}
    {{ return({'selected': [], 'problem': 'relation ' ~ relation
        ~ ' does not exist or has no columns; build the model first'}) }}
  {%- endif -%}
  {%- set by_name = {} -%}
  {%- for column in available -%}
    {%- do by_name.update({column.name | lower: column}) -%}
  {%- endfor -%}
  {%- set wanted = [primary_key] -%}
  {%- for name in (columns or (available | map(attribute='name') | list)) -%}
    {%- if name | lower != primary_key | lower -%}{%- do wanted.append(name) -%}{%- endif -%}
  {%- endfor -%}
  {%- set selected = [] -%}
  {%- for name in wanted -%}
    {%- if (name | lower) not in by_name -%}
      {{ return({'selected': [], 'problem': "field '" ~ ("primary_key" if loop.first else "columns")
          ~ "': column '" ~ name ~ "' is not a column of " ~ relation ~ " (columns: "
          ~ (available | map(attribute='name') | join(', ')) ~ ")"}) }}
    {%- endif -%}
    {%- do selected.append(by_name[name | lower]) -%}
  {%- endfor -%}
  {{ return({'selected': selected, 'problem': none}) }}
{%- endmacro %}


{#- What a plan depends on in the definition; the runner computes the same string to detect staleness. -#}
{% macro definition_key(primary_key, columns) -%}
  {%- if columns and (primary_key | lower) not in (columns | map('lower') | list) -%}
    {#- the runner always sends the primary key: it adds it in front, and so does this key -#}
    {%- set columns = [primary_key] + (columns | list) -%}
  {%- endif -%}
  {{ return(primary_key ~ '|' ~ ((columns | join(',')) if columns else '*')) }}
{%- endmacro %}


{#- Upserts the sync's state row with the plan's provenance; keeps the lease and first-run flag. -#}
{% macro record_plan(sync_name, model_name, invocation, definition, invalid_rows, now) -%}
  {%- set state = dbt_lambda_sync.lambda_sync_relation('lambda_sync_state') -%}
  {%- set sync = dbt.string_literal(sync_name) -%}
  {%- do dbt_lambda_sync.ensure_state_row(sync_name, model_name) -%}
  {%- do run_query("update " ~ state ~ " set"
      ~ " model_name = " ~ dbt.string_literal(model_name)
      ~ ", plan_snapshot_version = snapshot_version"
      ~ ", plan_invocation_id = " ~ (dbt.string_literal(invocation) if invocation else "null")
      ~ ", plan_definition = " ~ dbt.string_literal(definition)
      ~ ", plan_computed_at = cast(" ~ dbt.string_literal(now) ~ " as " ~ dbt.type_timestamp() ~ ")"
      ~ ", plan_invalid_rows = " ~ invalid_rows
      ~ ", updated_at = cast(" ~ dbt.string_literal(now) ~ " as " ~ dbt.type_timestamp() ~ ")"
      ~ " where sync_name = " ~ sync) -%}
{%- endmacro %}


{% macro ensure_state_row(sync_name, model_name) -%}
  {%- set state = dbt_lambda_sync.lambda_sync_relation('lambda_sync_state') -%}
  {%- set sync = dbt.string_literal(sync_name) -%}
  {%- do run_query("insert into " ~ state ~ " (sync_name, model_name, initialized, snapshot_version)"
      ~ " select " ~ sync ~ ", " ~ dbt.string_literal(model_name) ~ ", false, 0"
      ~ " where not exists (select 1 from " ~ state ~ " where sync_name = " ~ sync ~ ")") -%}
{%- endmacro %}
