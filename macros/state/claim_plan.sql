{#-
  Bumps the sync's plan_version before the plan is touched. On PostgreSQL the UPDATE locks the
  state row until the plan's transaction ends, and a runner's checkpoint locks it first too: a
  checkpoint either sees the new version (and applies nothing of the old plan) or finishes before
  the plan changes.
-#}
{% macro claim_plan(sync_name, model_name) -%}
  {{ return(adapter.dispatch('claim_plan', 'dbt_lambda_sync')(sync_name, model_name)) }}
{%- endmacro %}


{% macro default__claim_plan(sync_name, model_name) -%}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- do dbt_lambda_sync.ensure_state_row(sync_name, model_name) -%}
  {%- do run_query("update " ~ dbt_lambda_sync.lambda_sync_relation('lambda_sync_state')
      ~ " set plan_version = coalesce(plan_version, 0) + 1"
      ~ " where sync_name = " ~ dbt_lambda_sync.sql_literal(sync_name)) -%}
{%- endmacro %}
