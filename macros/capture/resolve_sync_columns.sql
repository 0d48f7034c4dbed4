{#-
  The dbt Column objects a sync compares and sends, primary key first, without raising:
  {selected: [Column], problem: none or a message naming the field}.
-#}
{% macro resolve_sync_columns(relation, primary_key, columns) -%}
  {{ return(adapter.dispatch('resolve_sync_columns', 'dbt_lambda_sync')(
      relation, primary_key, columns)) }}
{%- endmacro %}


{% macro default__resolve_sync_columns(relation, primary_key, columns) -%}
  {%- if not execute -%}{{ return({'selected': [], 'problem': none}) }}{%- endif -%}
  {%- set available = adapter.get_columns_in_relation(relation) -%}
  {%- if available | length == 0 -%}
    {{ return({'selected': [], 'problem': 'relation ' ~ relation
        ~ ' does not exist or has no columns; build the model first'}) }}
  {%- endif -%}
  {%- set by_name = {} -%}
  {%- for column in available -%}
    {%- do by_name.update({column.name | lower: column}) -%}
  {%- endfor -%}
  {%- set wanted = [primary_key] -%}
  {%- for name in (columns or (available | map(attribute='name') | list)) -%}
    {%- if name | lower != primary_key | lower -%}{%- do wanted.append(name) -%}{%- endif -%}
  {%- endfor -%}
  {%- set selected = [] -%}
  {%- for name in wanted -%}
    {%- if (name | lower) not in by_name -%}
      {{ return({'selected': [], 'problem': "field '" ~ ("primary_key" if loop.first else "columns")
          ~ "': column '" ~ name ~ "' is not a column of " ~ relation ~ " (columns: "
          ~ (available | map(attribute='name') | join(', ')) ~ ")"}) }}
    {%- endif -%}
    {%- do selected.append(by_name[name | lower]) -%}
  {%- endfor -%}
  {{ return({'selected': selected, 'problem': none}) }}
{%- endmacro %}
