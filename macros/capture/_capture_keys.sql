{#-
  How capture reads a sync's model, shared by compute_plan and full_refresh_preview so that the
  preview plans exactly what a capture over an empty snapshot would:
    selected:   the dbt Column objects compared and sent, key first (stops with an error naming
                the model, the sync and the field when a configured column is missing);
    key_column: selected[0];
    key_text:   the key exactly as row_json_select renders it (the plan's and the snapshot's
                primary_key);
    key_group:  what to group on to find duplicated keys: the same groups as key_text, cheaper to
                hash (capture_key_group);
    null_key:   the predicate of rows without a key (never planned; invalid rows).
-#}
{% macro _capture_keys(sync_name, model_name, relation, primary_key, columns) -%}
  {%- set resolved = dbt_lambda_sync.resolve_sync_columns(relation, primary_key, columns) -%}
  {%- if resolved.problem -%}
    {%- do exceptions.raise_compiler_error("model '" ~ model_name ~ "', sync '" ~ sync_name
        ~ "', " ~ resolved.problem) -%}
  {%- endif -%}
  {%- set key_column = resolved.selected[0] -%}
  {%- set key_text = "cast(" ~ dbt_lambda_sync.json_value(key_column) ~ " as "
      ~ dbt.type_string() ~ ")" -%}
  {{ return({
      'selected': resolved.selected,
      'key_column': key_column,
      'key_text': key_text,
      'key_group': dbt_lambda_sync.capture_key_group(key_column, key_text),
      'null_key': dbt_lambda_sync.quote_identifier(key_column.name) ~ " is null"}) }}
{%- endmacro %}


{#-
  The model's keys, one row per key group (rows without a key left out), selecting `columns`
  (SQL over the group: count(*) is the key's number of rows), with an optional HAVING.
-#}
{% macro _model_key_groups(relation, capture, columns, having=none) -%}
  {{ return("select " ~ columns ~ " from " ~ relation ~ " where " ~ capture.key_group
      ~ " is not null group by " ~ capture.key_group ~ (" having " ~ having if having else "")) }}
{%- endmacro %}
