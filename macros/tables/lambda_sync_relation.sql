{#- Where the package keeps its tables: var('lambda_sync_schema'), else <target schema>_lambda_sync. -#}
{% macro lambda_sync_schema() -%}
  {{ return(var('lambda_sync_schema', target.schema ~ '_lambda_sync')) }}
{%- endmacro %}


{% macro lambda_sync_relation(identifier) -%}
  {{ return(api.Relation.create(
      database=target.database,
      schema=dbt_lambda_sync.lambda_sync_schema(),
      identifier=identifier,
      type='table')) }}
{%- endmacro %}
