{#-
  Gives sync `sync_name` the state of `renamed_from`, its previous name: the rows of every
  sync_state_tables() table, and its errors, runs and invocations. What the new name had of its
  own (a plan computed before the adoption, unsettled rows) is dropped, and an error row of the
  new name gives way to the old name's row for the same key. The new name's lease carries over,
  plan_version moves past both so no checkpoint applies a plan of either, and the stored plan is
  marked for recomputation. The caller checks that the new name has not run yet and wraps this in
  one transaction: adopted entirely or not at all, and once (the old name has no state after).
-#}
{% macro adopt_renamed_sync(sync_name, model_name, renamed_from) -%}
  {{ return(adapter.dispatch('adopt_renamed_sync', 'dbt_lambda_sync')(
      sync_name, model_name, renamed_from)) }}
{%- endmacro %}


{% macro default__adopt_renamed_sync(sync_name, model_name, renamed_from) -%}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set rel = dbt_lambda_sync.lambda_sync_relation -%}
  {%- set new = dbt_lambda_sync.sql_literal(sync_name) -%}
  {%- set old = dbt_lambda_sync.sql_literal(renamed_from) -%}
  {%- set state = rel('lambda_sync_state') -%}
  {%- set errors = rel('lambda_sync_errors') -%}
  {%- set moved = [] -%}
  {%- for table in dbt_lambda_sync.sync_state_tables() if table != 'lambda_sync_state' -%}
    {%- do moved.append(table) -%}
  {%- endfor -%}
  {%- for table in moved -%}
    {%- do run_query("delete from " ~ rel(table) ~ " where sync_name = " ~ new) -%}
  {%- endfor -%}
  {%- do run_query("delete from " ~ errors ~ " where sync_name = " ~ new
      ~ " and primary_key_value in (select primary_key_value from " ~ errors
      ~ " where sync_name = " ~ old ~ ")") -%}
  {%- for table in moved + ['lambda_sync_errors', 'lambda_sync_runs', 'lambda_sync_invocations'] -%}
    {%- do run_query("update " ~ rel(table) ~ " set sync_name = " ~ new
        ~ " where sync_name = " ~ old) -%}
  {%- endfor -%}
  {%- set of_new = " from " ~ state ~ " where sync_name = " ~ new ~ ")" -%}
  {%- do run_query("update " ~ state ~ " set"
      ~ " model_name = " ~ dbt_lambda_sync.sql_literal(model_name)
      ~ ", lease_holder = " ~ "(select lease_holder" ~ of_new
      ~ ", lease_expires_at = " ~ "(select lease_expires_at" ~ of_new
      ~ ", lease_host = " ~ "(select lease_host" ~ of_new
      ~ ", lease_pid = " ~ "(select lease_pid" ~ of_new
      ~ ", plan_version = greatest(coalesce(plan_version, 0), coalesce("
      ~ "(select plan_version" ~ of_new ~ ", 0)) + 1"
      ~ ", plan_invocation_id = null"
      ~ " where sync_name = " ~ old) -%}
  {%- do run_query("delete from " ~ state ~ " where sync_name = " ~ new) -%}
  {%- do run_query("update " ~ state ~ " set sync_name = " ~ new ~ " where sync_name = " ~ old) -%}
  {{ return(none) }}
{%- endmacro %}
