{#-
  What compute_plan would plan for a sync right after a full refresh (an empty snapshot), read from
  the model alone: `run --dry-run --full-refresh` and `plan --full-refresh` preview the resend
  without touching the snapshot, the stored plan or the state row. Runs nothing; returns two
  SELECTs for the runner:
    counts: one row (added, duplicate_keys, duplicate_rows, null_keys)
    rows:   (seq, primary_key, operation, row_json, previous_json) of every row with a unique,
            non-null key, as `added`, in the order compute_plan numbers them (by primary_key).
  The key and the JSON are those of compute_plan (json_value, row_json_select), so the events
  rendered from these rows are the ones a full refresh would send.
-#}
{% macro full_refresh_preview(sync_name, model_name, relation, primary_key, columns=none) -%}
  {{ return(adapter.dispatch('full_refresh_preview', 'dbt_lambda_sync')(
      sync_name, model_name, relation, primary_key, columns)) }}
{%- endmacro %}


{% macro default__full_refresh_preview(sync_name, model_name, relation, primary_key, columns) -%}
  {%- set selected = dbt_lambda_sync.sync_columns(sync_name, model_name, relation, primary_key, columns) -%}
  {%- set key_column = selected[0] -%}
  {%- set text = dbt.type_string() -%}
  {%- set key_text = "cast(" ~ dbt_lambda_sync.json_value(key_column) ~ " as " ~ text ~ ")" -%}
  {%- set key_group = dbt_lambda_sync.capture_key_group(key_column, key_text) -%}
  {%- set counts -%}
    select
      coalesce(sum(case when key_rows = 1 then 1 else 0 end), 0) as added,
      coalesce(sum(case when key_rows > 1 then 1 else 0 end), 0) as duplicate_keys,
      coalesce(sum(case when key_rows > 1 then key_rows else 0 end), 0) as duplicate_rows,
      (select count(*) from {{ relation }}
       where {{ dbt_lambda_sync.quote_identifier(key_column.name) }} is null) as null_keys
    from (
      select count(*) as key_rows
      from {{ relation }}
      where {{ key_group }} is not null
      group by {{ key_group }}
    ) as model_keys
  {%- endset -%}
  {%- set unique_rows -%}
    (select * from {{ relation }}
     where {{ key_group }} in (
       select {{ key_group }} from {{ relation }}
       where {{ key_group }} is not null
       group by {{ key_group }}
       having count(*) = 1)
    ) as dls_unique_rows
  {%- endset -%}
  {%- set rows -%}
    select
      row_number() over (order by rendered.primary_key) as seq,
      rendered.primary_key,
      {{ dbt_lambda_sync.sql_literal('added') }} as operation,
      rendered.row_json,
      cast(null as {{ text }}) as previous_json
    from ({{ dbt_lambda_sync.row_json_select(unique_rows, selected, key_column) }}) as rendered
    order by seq
  {%- endset -%}
  {{ return({'counts': counts, 'rows': rows}) }}
{%- endmacro %}
