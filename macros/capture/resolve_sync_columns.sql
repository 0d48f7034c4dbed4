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
  {%- set wanted = [primary_key] -%}
  {%- for name in (columns or (available | map(attribute='name') | list)) -%}
    {%- if name | lower != primary_key | lower -%}{%- do wanted.append(name) -%}{%- endif -%}
  {%- endfor -%}
  {%- set selected = [] -%}
  {%- for name in wanted -%}
    {#- As the runner resolves it (definitions.resolve_column): the exact name, else the one
        column equal to it but for case; several that differ only in case are refused. -#}
    {%- set exact = available | selectattr('name', 'equalto', name) | list -%}
    {%- set folded = [] -%}
    {%- for column in available if column.name | lower == name | lower -%}
      {%- do folded.append(column) -%}
    {%- endfor -%}
    {%- set field = "field '" ~ ("primary_key" if loop.first else "columns") ~ "': column '" ~ name ~ "' " -%}
    {%- if exact -%}
      {%- do selected.append(exact[0]) -%}
    {%- elif folded | length == 1 -%}
      {%- do selected.append(folded[0]) -%}
    {%- elif folded -%}
      {{ return({'selected': [], 'problem': field ~ "matches several columns of " ~ relation
          ~ " that differ only in case (" ~ (folded | map(attribute='name') | join(', '))
          ~ "); rename one of them"}) }}
    {%- else -%}
      {{ return({'selected': [], 'problem': field ~ "is not a column of " ~ relation
          ~ " (columns: " ~ (available | map(attribute='name') | join(', ')) ~ ")"}) }}
    {%- endif -%}
  {%- endfor -%}
  {{ return({'selected': selected, 'problem': none}) }}
{%- endmacro %}
