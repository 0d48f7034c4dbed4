{#- One of the package's tables, in lambda_sync_schema(). -#}
{% macro lambda_sync_relation(identifier) -%}
  {{ return(adapter.dispatch('lambda_sync_relation', 'dbt_lambda_sync')(identifier)) }}
{%- endmacro %}


{% macro default__lambda_sync_relation(identifier) -%}
  {{ return(api.Relation.create(
      database=target.database,
      schema=dbt_lambda_sync.lambda_sync_schema(),
      identifier=identifier,
      type='table')) }}
{%- endmacro %}
