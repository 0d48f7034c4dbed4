{#-
  Inserts rows (a subquery with its alias) into lambda_sync_invalid_rows, rendered as sent.
  `sync` is the sync's name as a SQL literal, `selected` the sync's columns (key first).
-#}
{% macro record_invalid_rows(sync, selected, reason, now, rows) -%}
  {{ return(adapter.dispatch('record_invalid_rows', 'dbt_lambda_sync')(
      sync, selected, reason, now, rows)) }}
{%- endmacro %}


{% macro default__record_invalid_rows(sync, selected, reason, now, rows) -%}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- do run_query("insert into " ~ dbt_lambda_sync.lambda_sync_relation('lambda_sync_invalid_rows')
      ~ " (sync_name, primary_key, reason, row_json, recorded_at)"
      ~ " select " ~ sync ~ ", rendered.primary_key, " ~ dbt_lambda_sync.sql_literal(reason)
      ~ ", rendered.row_json, cast(" ~ dbt_lambda_sync.sql_literal(now) ~ " as "
      ~ dbt.type_timestamp() ~ ") from ("
      ~ dbt_lambda_sync.row_json_select(rows, selected, selected[0]) ~ ") as rendered") -%}
{%- endmacro %}
