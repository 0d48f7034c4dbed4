{#-
  Why the post-hook cannot capture changes for a sync definition (a message), or none. Checked
  before any SQL is built from the definition: the fields capture puts into SQL (`name` as a
  string literal, `primary_key` and `columns` matched to the relation's columns) must have the
  form the runner's schema requires (dbt_lambda_sync/schemas/sync_definition.schema.json). The
  runner (`dbt-lambda-sync validate`) checks the whole definition and says more.
-#}
{% macro definition_problem(sync) -%}
  {{ return(adapter.dispatch('definition_problem', 'dbt_lambda_sync')(sync)) }}
{%- endmacro %}


{% macro default__definition_problem(sync) -%}
  {%- if sync is not mapping -%}
    {{ return('a lambda_sync definition is not a mapping') }}
  {%- endif -%}
  {%- set name = sync.get('name') -%}
  {%- if name is not string or not modules.re.fullmatch('[a-z][a-z0-9_]{0,62}', name) -%}
    {{ return("field 'name' must be a lowercase letter, then up to 62 lowercase letters, digits"
        ~ " or underscores") }}
  {%- endif -%}
  {%- set key = sync.get('primary_key') -%}
  {%- if key is not string or key | length == 0 or '\x00' in key -%}
    {{ return("field 'primary_key' must be a column name") }}
  {%- endif -%}
  {%- set columns = sync.get('columns') -%}
  {%- if columns is not none -%}
    {%- if columns is string or columns is mapping or columns is not iterable
          or columns | length == 0 -%}
      {{ return("field 'columns' must be a non-empty list of column names") }}
    {%- endif -%}
    {%- set seen = [] -%}
    {%- for column in columns -%}
      {%- if column is not string or column | length == 0 or '\x00' in column -%}
        {{ return("field 'columns' must be a non-empty list of column names") }}
      {%- endif -%}
      {%- if column | lower in seen -%}
        {{ return("field 'columns' names a column twice") }}
      {%- endif -%}
      {%- do seen.append(column | lower) -%}
    {%- endfor -%}
  {%- endif -%}
  {{ return(none) }}
{%- endmacro %}
