{#-
  Rows sent without a confirmed result may have been applied by the function anyway: a runner
  killed mid-call, a call that timed out after the function wrote. The snapshot cannot hold them
  (it holds only what a result confirmed), so the plan being replaced keeps them in
  lambda_sync_unsettled when a run had started sending it (state.plan_sent_version). A key stays
  unsettled until the snapshot moves past it (apply_plan_rows: a confirmed result, or an
  operation the sync never sends) or the sync is reset.
  Called by compute_plan before it deletes the old plan, in its transaction.
-#}
{% macro carry_unsettled(sync_name) -%}
  {{ return(adapter.dispatch('carry_unsettled', 'dbt_lambda_sync')(sync_name)) }}
{%- endmacro %}


{% macro default__carry_unsettled(sync_name) -%}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set sync = dbt_lambda_sync.sql_literal(sync_name) -%}
  {%- set plans = dbt_lambda_sync.lambda_sync_relation('lambda_sync_plans') -%}
  {%- set unsettled = dbt_lambda_sync.lambda_sync_relation('lambda_sync_unsettled') -%}
  {%- set sent = "exists (select 1 from " ~ dbt_lambda_sync.lambda_sync_relation('lambda_sync_state')
      ~ " where sync_name = " ~ sync ~ " and plan_sent_version is not null)" -%}
  {%- set sent_rows = "select primary_key, operation, row_json from " ~ plans
      ~ " where sync_name = " ~ sync ~ " and operation in ('added', 'changed', 'removed')"
      ~ " and " ~ sent -%}
  {#- the latest version sent of a key replaces an older one: either may be at the destination,
      and only a removed event needs one (any version serves a delete by key) -#}
  {%- do run_query("delete from " ~ unsettled ~ " where sync_name = " ~ sync
      ~ " and primary_key in (select primary_key from (" ~ sent_rows ~ ") as sent_rows)") -%}
  {%- do run_query("insert into " ~ unsettled ~ " (sync_name, primary_key, operation, row_json)"
      ~ " select " ~ sync ~ ", primary_key, operation, row_json from (" ~ sent_rows ~ ") as sent_rows") -%}
  {{ return(none) }}
{%- endmacro %}
