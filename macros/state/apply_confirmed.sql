{#-
  Moves the snapshot past the plan rows a run's results confirmed, given as inclusive seq ranges
  [[low, high], ...] (integers), and resolves their open errors. The caller has checked, in the
  same transaction and holding the state row's lock, that the plan is still the one the rows were
  read from (plan_version): seqs name rows of one plan only.
-#}
{% macro apply_confirmed(sync_name, run_id, now, seq_ranges) -%}
  {{ return(adapter.dispatch('apply_confirmed', 'dbt_lambda_sync')(
      sync_name, run_id, now, seq_ranges)) }}
{%- endmacro %}


{% macro default__apply_confirmed(sync_name, run_id, now, seq_ranges) -%}
  {%- if not execute or seq_ranges | length == 0 -%}{{ return(none) }}{%- endif -%}
  {%- set plans = dbt_lambda_sync.lambda_sync_relation('lambda_sync_plans') -%}
  {%- set errors = dbt_lambda_sync.lambda_sync_relation('lambda_sync_errors') -%}
  {%- set sync = dbt_lambda_sync.sql_literal(sync_name) -%}
  {%- set rows_where = dbt_lambda_sync._confirmed_rows_where(plans, sync, seq_ranges) -%}
  {%- do run_query("update " ~ errors ~ " set resolved_at = cast(" ~ dbt_lambda_sync.sql_literal(now)
      ~ " as " ~ dbt.type_timestamp() ~ "), resolved_run_id = " ~ dbt_lambda_sync.sql_literal(run_id)
      ~ ", resolution = " ~ dbt_lambda_sync.sql_literal('delivered')
      ~ " where sync_name = " ~ sync ~ " and resolved_at is null and primary_key_value in"
      ~ " (select primary_key from " ~ plans ~ " as plans where sync_name = " ~ sync
      ~ " and operation <> 'duplicate' and " ~ rows_where ~ ")") -%}
  {%- do dbt_lambda_sync.apply_plan_rows(sync_name, run_id, now, rows_where) -%}
  {{ return(none) }}
{%- endmacro %}


{#- The plan rows (aliased `plans`) whose seq lies in one of the ranges, as a predicate. -#}
{% macro _confirmed_rows_where(plans, sync, seq_ranges) -%}
  {%- set between = [] -%}
  {%- set values = [] -%}
  {%- for low, high in seq_ranges -%}
    {%- do between.append("plans.seq between " ~ (low | int) ~ " and " ~ (high | int)) -%}
    {%- do values.append("(" ~ (low | int) ~ ", " ~ (high | int) ~ ")") -%}
  {%- endfor -%}
  {%- if seq_ranges | length <= 64 -%}
    {#- the usual case (whole batches confirmed): predicates the scan prunes by seq directly -#}
    {{ return("(" ~ between | join(" or ") ~ ")") }}
  {%- endif -%}
  {#- many gaps (rejected rows): a join on the ranges rather than a long OR -#}
  {{ return("plans.seq in (select plans.seq from " ~ plans ~ " as plans join"
      ~ " (values " ~ values | join(", ") ~ ") as confirmed (low, high)"
      ~ " on plans.seq between confirmed.low and confirmed.high"
      ~ " where plans.sync_name = " ~ sync ~ ")") }}
{%- endmacro %}
