{#-
  Moves a sync's snapshot past the current plan rows of failing keys without sending them, and
  resolves those keys' open errors as 'skipped'. `keys` is a list of primary key texts, or none
  for every open failure; `run_id` labels the snapshot rows (delivered_run_id). Duplicate keys
  are never skipped (there is no one row to move past). The caller holds the sync's lease and
  wraps this in one transaction.
-#}
{% macro skip_failed_rows(sync_name, keys, run_id, now) -%}
  {{ return(adapter.dispatch('skip_failed_rows', 'dbt_lambda_sync')(sync_name, keys, run_id, now)) }}
{%- endmacro %}


{% macro default__skip_failed_rows(sync_name, keys, run_id, now) -%}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set errors = dbt_lambda_sync.lambda_sync_relation('lambda_sync_errors') -%}
  {%- set sync = dbt_lambda_sync.sql_literal(sync_name) -%}
  {%- set chosen = "sync_name = " ~ sync ~ " and resolved_at is null and operation <> "
      ~ dbt_lambda_sync.sql_literal('duplicate') -%}
  {%- if keys is not none -%}
    {%- if keys | length == 0 -%}{{ return(none) }}{%- endif -%}
    {%- set literals = [] -%}
    {%- for key in keys -%}{%- do literals.append(dbt_lambda_sync.sql_literal(key)) -%}{%- endfor -%}
    {%- set chosen = chosen ~ " and primary_key_value in (" ~ literals | join(', ') ~ ")" -%}
  {%- endif -%}
  {#- first the snapshot (it reads the open errors), then the errors -#}
  {%- do dbt_lambda_sync.apply_plan_rows(sync_name, run_id, now,
      "plans.primary_key in (select primary_key_value from " ~ errors ~ " where " ~ chosen ~ ")") -%}
  {%- do run_query("update " ~ errors ~ " set resolved_at = cast(" ~ dbt_lambda_sync.sql_literal(now)
      ~ " as " ~ dbt.type_timestamp() ~ "), resolved_run_id = null, resolution = "
      ~ dbt_lambda_sync.sql_literal('skipped') ~ " where " ~ chosen) -%}
  {{ return(none) }}
{%- endmacro %}
