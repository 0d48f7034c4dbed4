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
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {#- One transaction, even inside dbt: on PostgreSQL dbt sends no BEGIN of its own, and after
      its first COMMIT on a connection every statement would commit alone (see
      Warehouse.transaction). A BEGIN inside an open transaction only warns there. -#}
  {%- set explicit = adapter.type() == 'postgres' -%}
  {%- if explicit -%}{%- do run_query('begin') -%}{%- endif -%}
  {%- do dbt_lambda_sync.claim_plan(sync_name, model_name) -%}
  {%- set result = adapter.dispatch('compute_plan', 'dbt_lambda_sync')(
      sync_name, model_name, relation, primary_key, columns, now, invocation) -%}
  {%- if explicit -%}{%- do run_query('commit') -%}{%- endif -%}
  {{ return(result) }}
{%- endmacro %}


{% macro default__compute_plan(sync_name, model_name, relation, primary_key, columns, now,
                               invocation) -%}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set selected = dbt_lambda_sync.sync_columns(sync_name, model_name, relation, primary_key, columns) -%}
  {%- set key_column = selected[0] -%}
  {%- set sync = dbt_lambda_sync.sql_literal(sync_name) -%}
  {%- set plans = dbt_lambda_sync.lambda_sync_relation('lambda_sync_plans') -%}
  {%- set snapshots = dbt_lambda_sync.lambda_sync_relation('lambda_sync_snapshots') -%}
  {%- set text = dbt.type_string() -%}
  {%- set now = now or modules.datetime.datetime.utcnow().strftime('%Y-%m-%d %H:%M:%S.%f') -%}
  {#- the key exactly as row_json_select renders it (the plan's and the snapshot's primary_key) -#}
  {%- set key_text = "cast(" ~ dbt_lambda_sync.json_value(key_column) ~ " as " ~ text ~ ")" -%}
  {#- what to group on to find duplicated keys: the same groups as key_text, cheaper to hash -#}
  {%- set key_group = dbt_lambda_sync.capture_key_group(key_column, key_text) -%}
  {%- set keys = dbt_lambda_sync.capture_temp_relation('dls_capture_keys') -%}
  {%- set candidates = dbt_lambda_sync.capture_temp_relation('dls_capture_candidates') -%}

  {#- 0. A snapshot keyed by another key (or another rendering of it) cannot be diffed: its keys
      would all look removed, carrying rows of the old key. Plan nothing; the runner refuses the
      sync until it is reset. -#}
  {%- set signature = dbt_lambda_sync.sync_signature(selected) -%}
  {%- if not dbt_lambda_sync.adopt_signature(sync_name, signature) -%}
    {%- do run_query("delete from " ~ plans ~ " where sync_name = " ~ sync) -%}
    {%- do dbt_lambda_sync.record_plan(
        sync_name, model_name,
        invocation=invocation,
        definition=dbt_lambda_sync.definition_key(primary_key, columns),
        invalid_rows=0,
        now=now,
        signature=signature) -%}
    {{ return(none) }}
  {%- endif -%}

  {#-
    1. Every model row's key and hash (typed columns, no JSON) against the snapshot's keys and
       hashes, in one full outer join. Keeps what can be in the plan: keys on one side only,
       duplicated keys (grouping on the key), and keys whose hash differs, with the snapshot's
       row_json (picked up by the join's scan of the snapshot; a second join costs more).
  -#}
  {%- set find_keys -%}
    create temporary table {{ keys }} as
    select
      coalesce(model_keys.primary_key, delivered.primary_key) as primary_key,
      model_keys.key_rows,
      model_keys.row_hash as new_hash,
      delivered.row_hash as old_hash,
      delivered.row_json as old_json
    from (
      select
        {{ key_text }} as primary_key,
        count(*) as key_rows,
        cast(min({{ dbt_lambda_sync.row_hash_expression(selected) }}) as {{ text }}) as row_hash
      from {{ relation }}
      where {{ key_group }} is not null
      group by {{ key_group }}
    ) as model_keys
    full outer join (
      select primary_key, row_hash, row_json
      from {{ snapshots }}
      where sync_name = {{ sync }}
    ) as delivered
      on delivered.primary_key = model_keys.primary_key
    where model_keys.primary_key is null
       or delivered.primary_key is null
       or model_keys.key_rows > 1
       or model_keys.row_hash <> delivered.row_hash
  {%- endset -%}
  {#- left behind only if an earlier capture in this session failed between create and drop -#}
  {%- do run_query("drop table if exists " ~ candidates) -%}
  {%- do run_query("drop table if exists " ~ keys) -%}
  {%- set work_mem = dbt_lambda_sync.capture_work_mem('raise') -%}
  {%- do run_query(find_keys) -%}
  {%- do dbt_lambda_sync.capture_work_mem('restore', work_mem) -%}

  {#- 2. The JSON of those keys' model rows, rendered by the warehouse (the smallest per key) -#}
  {%- set candidate_rows -%}
    (select * from {{ relation }}
     where {{ key_text }} in (select primary_key from {{ keys }} where key_rows is not null)
    ) as dls_candidate_rows
  {%- endset -%}
  {%- set find_candidates -%}
    create temporary table {{ candidates }} as
    select
      candidate.primary_key,
      candidate.key_rows,
      candidate.new_hash,
      candidate.old_hash,
      current_rows.row_json as new_json,
      candidate.old_json
    from {{ keys }} as candidate
    left join (
      select primary_key, min(row_json) as row_json
      from ({{ dbt_lambda_sync.row_json_select(candidate_rows, selected, key_column) }}) as rendered
      group by primary_key
    ) as current_rows
      on current_rows.primary_key = candidate.primary_key
  {%- endset -%}
  {%- do run_query(find_candidates) -%}

  {#- 3. The plan. A hash that differs over the same JSON text is no change. -#}
  {%- do dbt_lambda_sync.carry_unsettled(sync_name) -%}
  {%- do run_query("delete from " ~ plans ~ " where sync_name = " ~ sync) -%}
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
  {%- do run_query(insert_plan) -%}

  {#-
    4. Rows delivered with the same content but hashed otherwise (by an older version of this
       package, another engine version): store the current hash, so that the next capture skips
       them without rendering them.
  -#}
  {%- set same_content = "key_rows = 1 and old_hash is not null and new_json = old_json" -%}
  {%- set rehash = run_query("select count(*) from " ~ candidates ~ " where " ~ same_content)
      .columns[0].values()[0] -%}
  {%- if rehash | int > 0 -%}
    {%- do run_query("update " ~ snapshots ~ " as target set row_hash = refreshed.new_hash"
        ~ " from (select primary_key, new_hash from " ~ candidates ~ " where " ~ same_content
        ~ ") as refreshed where target.sync_name = " ~ sync
        ~ " and target.primary_key = refreshed.primary_key") -%}
  {%- endif -%}
  {#-
    5. The rows that cannot be planned, where a user can find them: every row of a duplicated
       key, and every row with a null key (lambda_sync_invalid_rows, replaced each time).
  -#}
  {%- set invalid_rows = dbt_lambda_sync.lambda_sync_relation('lambda_sync_invalid_rows') -%}
  {%- do run_query("delete from " ~ invalid_rows ~ " where sync_name = " ~ sync) -%}
  {%- set duplicate_rows = run_query("select coalesce(sum(key_rows), 0) from " ~ keys
      ~ " where key_rows > 1").columns[0].values()[0] -%}
  {%- if duplicate_rows | int > 0 -%}
    {%- do dbt_lambda_sync.record_invalid_rows(sync, selected, 'duplicate_key', now,
        "(select * from " ~ relation ~ " where " ~ key_text ~ " in (select primary_key from "
        ~ keys ~ " where key_rows > 1)) as dls_duplicate_rows") -%}
  {%- endif -%}
  {%- do run_query("drop table " ~ candidates) -%}
  {%- do run_query("drop table " ~ keys) -%}

  {%- set null_key = dbt_lambda_sync.quote_identifier(key_column.name) ~ " is null" -%}
  {%- set null_keys = run_query("select count(*) from " ~ relation ~ " where "
      ~ null_key).columns[0].values()[0] -%}
  {%- if null_keys | int > 0 -%}
    {%- do dbt_lambda_sync.record_invalid_rows(sync, selected, 'null_key', now,
        "(select * from " ~ relation ~ " where " ~ null_key ~ ") as dls_null_key_rows") -%}
  {%- endif -%}
  {%- do dbt_lambda_sync.record_plan(
      sync_name, model_name,
      invocation=invocation,
      definition=dbt_lambda_sync.definition_key(primary_key, columns),
      invalid_rows=(null_keys | int) + (duplicate_rows | int),
      now=now,
      signature=signature) -%}
  {{ return(none) }}
{%- endmacro %}


{#- Inserts rows (a subquery with its alias) into lambda_sync_invalid_rows, rendered as sent. -#}
{% macro record_invalid_rows(sync, selected, reason, now, rows) -%}
  {%- do run_query("insert into " ~ dbt_lambda_sync.lambda_sync_relation('lambda_sync_invalid_rows')
      ~ " (sync_name, primary_key, reason, row_json, recorded_at)"
      ~ " select " ~ sync ~ ", rendered.primary_key, " ~ dbt_lambda_sync.sql_literal(reason)
      ~ ", rendered.row_json, cast(" ~ dbt_lambda_sync.sql_literal(now) ~ " as "
      ~ dbt.type_timestamp() ~ ") from ("
      ~ dbt_lambda_sync.row_json_select(rows, selected, selected[0]) ~ ") as rendered") -%}
{%- endmacro %}


{#-
  What the snapshot's rows depend on besides the model's values: the key column's name and how
  its values render as text (the snapshot's primary_key), and the names of the columns sent.
  Types that render alike share a name (every integer type, every varchar and text type); a key
  with a time zone renders in the session's TimeZone, so that is part of it.
-#}
{% macro sync_signature(columns) -%}
  {%- set key = columns[0] -%}
  {%- set type = key.data_type | lower -%}
  {%- if type in ['tinyint', 'smallint', 'integer', 'int', 'bigint', 'hugeint', 'int2', 'int4',
                  'int8', 'utinyint', 'usmallint', 'uinteger', 'ubigint', 'uhugeint'] -%}
    {%- set type = 'integer' -%}
  {%- elif type in ['text', 'string'] or type.startswith('varchar')
        or type.startswith('character varying') -%}
    {%- set type = 'text' -%}
  {%- elif 'with time zone' in type or type in ['timestamptz', 'timetz'] -%}
    {%- set zone = run_query("select current_setting('TimeZone')").columns[0].values()[0] -%}
    {%- set type = type ~ ', TimeZone ' ~ zone -%}
  {%- endif -%}
  {{ return({'key': key.name ~ ' (' ~ type ~ ')',
             'columns': columns | map(attribute='name') | join(', ')}) }}
{%- endmacro %}


{#-
  Compares the signature with the one the sync's snapshot was written with
  (lambda_sync_state.snapshot_key_signature / snapshot_columns). Returns false when the key's
  signature differs and the sync has delivered (or possibly delivered) rows: the plan must not be
  computed. Otherwise true, after recording the signature wherever none applies yet (no rows
  delivered, or state written before signatures existed).
-#}
{% macro adopt_signature(sync_name, signature) -%}
  {%- set state = dbt_lambda_sync.lambda_sync_relation('lambda_sync_state') -%}
  {%- set sync = dbt_lambda_sync.sql_literal(sync_name) -%}
  {%- set stored = run_query("select snapshot_key_signature, snapshot_columns,"
      ~ " case when exists (select 1 from "
      ~ dbt_lambda_sync.lambda_sync_relation('lambda_sync_snapshots') ~ " where sync_name = " ~ sync
      ~ ") or exists (select 1 from " ~ dbt_lambda_sync.lambda_sync_relation('lambda_sync_unsettled')
      ~ " where sync_name = " ~ sync ~ ") then 1 else 0 end"
      ~ " from " ~ state ~ " where sync_name = " ~ sync).rows[0] -%}
  {%- set delivered = (stored[2] | int) == 1 -%}
  {%- if delivered and stored[0] is not none and stored[0] != signature.key -%}
    {{ return(false) }}
  {%- endif -%}
  {%- set updates = [] -%}
  {%- if not delivered or stored[0] is none -%}
    {%- do updates.append("snapshot_key_signature = " ~ dbt_lambda_sync.sql_literal(signature.key)) -%}
  {%- endif -%}
  {%- if not delivered or stored[1] is none -%}
    {%- do updates.append("snapshot_columns = " ~ dbt_lambda_sync.sql_literal(signature.columns)) -%}
  {%- endif -%}
  {%- if updates -%}
    {%- do run_query("update " ~ state ~ " set " ~ updates | join(', ') ~ " where sync_name = " ~ sync) -%}
  {%- endif -%}
  {{ return(true) }}
{%- endmacro %}


{#-
  SQL for a row's hash (an integer; compute_plan stores it as text in row_hash): cheap, computed
  by the warehouse over the typed selected columns (the key included) without rendering JSON.
  Opaque to the runner. compute_plan takes a hash mismatch only as a candidate change and compares
  the rendered JSON before planning it, so a hash never has to match one written by another
  version of this package or engine (64 bits: equal hashes over different content are not a
  practical concern for one key's consecutive versions).
  A signature is hashed in with the values: what the JSON depends on besides them (this scheme,
  the engine's version, the session time zone, the columns' names and types). When any of them
  changes, every row is compared by its JSON once, and its snapshot hash is rewritten.
-#}
{% macro row_hash_expression(columns) -%}
  {%- set context = run_query(dbt_lambda_sync.row_hash_context_query()) -%}
  {%- set parts = ['dls-row-hash-1', adapter.type()] -%}
  {%- for value in context.rows[0] -%}{%- do parts.append(value | string) -%}{%- endfor -%}
  {%- for column in columns -%}
    {%- do parts.append(column.name ~ ' ' ~ column.data_type) -%}
  {%- endfor -%}
  {%- set signature = local_md5(parts | join('|')) -%}
  {{ return(adapter.dispatch('row_hash_expression', 'dbt_lambda_sync')(columns, signature)) }}
{%- endmacro %}


{% macro row_hash_context_query() -%}
  {{ return(adapter.dispatch('row_hash_context_query', 'dbt_lambda_sync')()) }}
{%- endmacro %}


{% macro default__row_hash_context_query() -%}
  {{ return("select version(), current_setting('TimeZone')") }}
{%- endmacro %}


{#-
  PostgreSQL: a 64-bit hash (hashtextextended, 2-3x cheaper than md5 here) of the row's text form.
  Both it and row_to_json come from each type's output function, so equal text means equal JSON;
  NULL and '' differ in a row's text (nothing vs ""). Hashing the typed values instead
  (hash_record_extended) is cheaper still but fails on types without a hash (json, point) and
  equates values that JSON tells apart (numeric 1.1 and 1.10, -0 and 0).
-#}
{% macro default__row_hash_expression(columns, signature) -%}
  {%- set names = [] -%}
  {%- for column in columns -%}
    {%- do names.append(dbt_lambda_sync.quote_identifier(column.name)) -%}
  {%- endfor -%}
  {{ return("hashtextextended(" ~ dbt_lambda_sync.sql_literal(signature) ~ " || cast(row("
      ~ names | join(', ') ~ ") as " ~ dbt.type_string() ~ "), 0)") }}
{%- endmacro %}


{#-
  DuckDB: hash() over the typed values (64 bits, order-sensitive, NULL distinct from ''). It
  does not tell -0.0 from 0.0, which JSON does: floating columns add their sign bit.
-#}
{% macro duckdb__row_hash_expression(columns, signature) -%}
  {%- set args = [dbt_lambda_sync.sql_literal(signature)] -%}
  {%- for column in columns -%}
    {%- set name = dbt_lambda_sync.quote_identifier(column.name) -%}
    {%- do args.append(name) -%}
    {%- if (column.dtype | upper) in ('DOUBLE', 'FLOAT', 'REAL', 'FLOAT4', 'FLOAT8') -%}
      {%- do args.append("signbit(" ~ name ~ ")") -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return("hash(" ~ args | join(', ') ~ ")") }}
{%- endmacro %}


{#-
  The expression compute_plan groups on to find duplicated keys. The key column itself when its
  type's equality is exactly equality of its text (integers, dates...: cheaper to hash than text);
  otherwise the key's text (numeric 1.0 and 1.00, or -0.0 and 0.0, are equal but print apart).
-#}
{% macro capture_key_group(key_column, key_text) -%}
  {{ return(adapter.dispatch('capture_key_group', 'dbt_lambda_sync')(key_column, key_text)) }}
{%- endmacro %}


{% macro default__capture_key_group(key_column, key_text) -%}
  {%- set exact = ['smallint', 'integer', 'bigint', 'int2', 'int4', 'int8', 'uuid', 'date',
                   'boolean', 'bool'] -%}
  {%- if (key_column.dtype | lower) in exact -%}
    {{ return(dbt_lambda_sync.quote_identifier(key_column.name)) }}
  {%- endif -%}
  {{ return(key_text) }}
{%- endmacro %}


{% macro duckdb__capture_key_group(key_column, key_text) -%}
  {%- set exact = ['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT', 'UTINYINT',
                   'USMALLINT', 'UINTEGER', 'UBIGINT', 'UHUGEINT', 'UUID', 'DATE', 'BOOLEAN'] -%}
  {%- if (key_column.dtype | upper) in exact -%}
    {{ return(dbt_lambda_sync.quote_identifier(key_column.name)) }}
  {%- endif -%}
  {{ return(key_text) }}
{%- endmacro %}


{#-
  PostgreSQL's default work_mem (4MB) makes the aggregate over every key spill to disk in many
  batches (the post-hook runs before the model has statistics): the first statement runs with
  var('lambda_sync_capture_work_mem', '64MB') when the current value is lower, and the value it had
  is put back right after (session-level, so it holds whether or not a transaction is open).
  Set the var to '' to leave work_mem alone. Measured at 1M rows: that statement 3.9s -> 2.8s.
-#}
{% macro capture_work_mem(action, previous=none) -%}
  {{ return(adapter.dispatch('capture_work_mem', 'dbt_lambda_sync')(action, previous)) }}
{%- endmacro %}


{% macro default__capture_work_mem(action, previous) -%}
  {{ return(none) }}
{%- endmacro %}


{% macro postgres__capture_work_mem(action, previous) -%}
  {%- if action == 'raise' -%}
    {%- set wanted = var('lambda_sync_capture_work_mem', '64MB') -%}
    {%- if not wanted -%}{{ return(none) }}{%- endif -%}
    {%- set current = run_query("select current_setting('work_mem'), pg_size_bytes(current_setting("
        ~ "'work_mem')) < pg_size_bytes(" ~ dbt_lambda_sync.sql_literal(wanted) ~ ")").rows[0] -%}
    {%- if current[1] -%}
      {%- do run_query("select set_config('work_mem', " ~ dbt_lambda_sync.sql_literal(wanted) ~ ", false)") -%}
      {{ return(current[0]) }}
    {%- endif -%}
  {%- elif previous -%}
    {%- do run_query("select set_config('work_mem', " ~ dbt_lambda_sync.sql_literal(previous) ~ ", false)") -%}
  {%- endif -%}
  {{ return(none) }}
{%- endmacro %}


{#-
  A temporary table of the capture, dropped before compute_plan returns. Schema-qualified so that
  a table of the same name in the target schema is never touched.
-#}
{% macro capture_temp_relation(name) -%}
  {{ return(adapter.dispatch('capture_temp_relation', 'dbt_lambda_sync')(name)) }}
{%- endmacro %}


{% macro default__capture_temp_relation(name) -%}
  {{ return('pg_temp.' ~ name) }}
{%- endmacro %}


{% macro duckdb__capture_temp_relation(name) -%}
  {{ return('temp.main.' ~ name) }}
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
{% macro record_plan(sync_name, model_name, invocation, definition, invalid_rows, now,
                     signature=none) -%}
  {%- set state = dbt_lambda_sync.lambda_sync_relation('lambda_sync_state') -%}
  {%- set sync = dbt_lambda_sync.sql_literal(sync_name) -%}
  {%- do dbt_lambda_sync.ensure_state_row(sync_name, model_name) -%}
  {%- do run_query("update " ~ state ~ " set"
      ~ " model_name = " ~ dbt_lambda_sync.sql_literal(model_name)
      ~ ", plan_snapshot_version = snapshot_version"
      ~ ", plan_invocation_id = " ~ (dbt_lambda_sync.sql_literal(invocation) if invocation else "null")
      ~ ", plan_definition = " ~ dbt_lambda_sync.sql_literal(definition)
      ~ ", plan_computed_at = cast(" ~ dbt_lambda_sync.sql_literal(now) ~ " as " ~ dbt.type_timestamp() ~ ")"
      ~ ", plan_invalid_rows = " ~ invalid_rows
      ~ ", plan_sent_version = null"
      ~ (", plan_key_signature = " ~ dbt_lambda_sync.sql_literal(signature.key)
         ~ ", plan_columns = " ~ dbt_lambda_sync.sql_literal(signature.columns) if signature else "")
      ~ ", updated_at = cast(" ~ dbt_lambda_sync.sql_literal(now) ~ " as " ~ dbt.type_timestamp() ~ ")"
      ~ " where sync_name = " ~ sync) -%}
{%- endmacro %}


{% macro ensure_state_row(sync_name, model_name) -%}
  {%- set state = dbt_lambda_sync.lambda_sync_relation('lambda_sync_state') -%}
  {%- set sync = dbt_lambda_sync.sql_literal(sync_name) -%}
  {%- do run_query("insert into " ~ state ~ " (sync_name, model_name, initialized, snapshot_version)"
      ~ " select " ~ sync ~ ", " ~ dbt_lambda_sync.sql_literal(model_name) ~ ", false, 0"
      ~ " where not exists (select 1 from " ~ state ~ " where sync_name = " ~ sync ~ ")") -%}
{%- endmacro %}


{#-
  Bumps the sync's plan_version before the plan is touched. On PostgreSQL the UPDATE locks the
  state row until the plan's transaction ends, and a runner's checkpoint locks it first too: a
  checkpoint either sees the new version (and applies nothing of the old plan) or finishes before
  the plan changes.
-#}
{% macro claim_plan(sync_name, model_name) -%}
  {%- do dbt_lambda_sync.ensure_state_row(sync_name, model_name) -%}
  {%- do run_query("update " ~ dbt_lambda_sync.lambda_sync_relation('lambda_sync_state')
      ~ " set plan_version = coalesce(plan_version, 0) + 1"
      ~ " where sync_name = " ~ dbt_lambda_sync.sql_literal(sync_name)) -%}
{%- endmacro %}
