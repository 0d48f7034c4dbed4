{#- What a plan depends on in the definition; the runner computes the same string to detect staleness. -#}
{% macro definition_key(primary_key, columns) -%}
  {{ return(adapter.dispatch('definition_key', 'dbt_lambda_sync')(primary_key, columns)) }}
{%- endmacro %}


{% macro default__definition_key(primary_key, columns) -%}
  {%- if columns and (primary_key | lower) not in (columns | map('lower') | list) -%}
    {#- the runner always sends the primary key: it adds it in front, and so does this key -#}
    {%- set columns = [primary_key] + (columns | list) -%}
  {%- endif -%}
  {{ return(primary_key ~ '|' ~ ((columns | join(',')) if columns else '*')) }}
{%- endmacro %}
