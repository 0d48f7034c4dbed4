{#-
  What compute_plan would plan for a sync right after a full refresh (an empty snapshot), read from
  the model alone: `run --dry-run --full-refresh` and `plan --full-refresh` preview the resend
  without touching the snapshot, the stored plan or the state row. Runs nothing; returns two
  SELECTs for the runner:
    counts: one row (added, duplicate_keys, duplicate_rows, null_keys)
    rows:   (seq, primary_key, operation, row_json, previous_json) of every row with a unique,
            non-null key, as `added`, in the order compute_plan numbers them (by primary_key).
  The key, its groups and the JSON are those of compute_plan (_capture_keys, row_json_select), so
  the events rendered from these rows are the ones a full refresh would send.
-#}
{% macro full_refresh_preview(sync_name, model_name, relation, primary_key, columns=none) -%}
  {{ return(adapter.dispatch('full_refresh_preview', 'dbt_lambda_sync')(
      sync_name, model_name, relation, primary_key, columns)) }}
{%- endmacro %}


{% macro default__full_refresh_preview(sync_name, model_name, relation, primary_key, columns) -%}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set capture = dbt_lambda_sync._capture_keys(sync_name, model_name, relation, primary_key, columns) -%}
  {%- set text = dbt.type_string() -%}
  {%- set counts -%}
    select
      coalesce(sum(case when key_rows = 1 then 1 else 0 end), 0) as added,
      coalesce(sum(case when key_rows > 1 then 1 else 0 end), 0) as duplicate_keys,
      coalesce(sum(case when key_rows > 1 then key_rows else 0 end), 0) as duplicate_rows,
      (select count(*) from {{ relation }} where {{ capture.null_key }}) as null_keys
    from ({{ dbt_lambda_sync._model_key_groups(relation, capture, "count(*) as key_rows") }}) as model_keys
  {%- endset -%}
  {%- set unique_rows -%}
    (select * from {{ relation }}
     where {{ capture.key_group }} in (
       {{ dbt_lambda_sync._model_key_groups(relation, capture, capture.key_group, having="count(*) = 1") }})
    ) as dls_unique_rows
  {%- endset -%}
  {%- set rows -%}
    select
      row_number() over (order by rendered.primary_key) as seq,
      rendered.primary_key,
      {{ dbt_lambda_sync.sql_literal('added') }} as operation,
      rendered.row_json,
      cast(null as {{ text }}) as previous_json
    from ({{ dbt_lambda_sync.row_json_select(unique_rows, capture.selected, capture.key_column) }}) as rendered
    order by seq
  {%- endset -%}
  {{ return({'counts': counts, 'rows': rows}) }}
{%- endmacro %}
