{#-
  Compares the signature (sync_signature) with the one the sync's snapshot was written with
  (lambda_sync_state.snapshot_key_signature / snapshot_columns). Returns false when the key's
  signature differs and the sync has delivered (or possibly delivered) rows: the plan must not be
  computed. Otherwise true, after recording the signature wherever none applies yet (no rows
  delivered, or state written before signatures existed).
-#}
{% macro adopt_signature(sync_name, signature) -%}
  {{ return(adapter.dispatch('adopt_signature', 'dbt_lambda_sync')(sync_name, signature)) }}
{%- endmacro %}


{% macro default__adopt_signature(sync_name, signature) -%}
  {%- if not execute -%}{{ return(true) }}{%- endif -%}
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
