{#- One of the package's tables, in lambda_sync_schema(). -#}
{% macro lambda_sync_relation(identifier) -%}
  {{ return(adapter.dispatch('lambda_sync_relation', 'dbt_lambda_sync')(identifier)) }}
{%- endmacro %}


{% macro default__lambda_sync_relation(identifier) -%}
  {%- do dbt_lambda_sync._unsupported_adapter() -%}
{%- endmacro %}


{#- DuckDB: dbt-duckdb quotes every name (as dbt-postgres), so the schema name is kept as written. -#}
{% macro duckdb__lambda_sync_relation(identifier) -%}
  {{ return(dbt_lambda_sync._sync_relation_as_configured(identifier)) }}
{%- endmacro %}


{#- PostgreSQL: dbt-postgres quotes every name, so the schema name is kept as written. -#}
{% macro postgres__lambda_sync_relation(identifier) -%}
  {{ return(dbt_lambda_sync._sync_relation_as_configured(identifier)) }}
{%- endmacro %}


{#-
  Snowflake: dbt-snowflake quotes nothing, so the schema name folds to upper case like any
  unquoted name; a name an unquoted identifier cannot spell ('?', '%', spaces...) is quoted, and
  then kept exactly as written.
-#}
{% macro snowflake__lambda_sync_relation(identifier) -%}
  {%- set schema = dbt_lambda_sync.lambda_sync_schema() -%}
  {%- set plain = modules.re.match('^[A-Za-z_][A-Za-z0-9_$]*$', schema) is not none -%}
  {{ return(dbt_lambda_sync._sync_relation_as_configured(identifier).quote(schema=not plain)) }}
{%- endmacro %}


{#- The relation with the adapter's own quoting. -#}
{% macro _sync_relation_as_configured(identifier) -%}
  {{ return(api.Relation.create(
      database=target.database,
      schema=dbt_lambda_sync.lambda_sync_schema(),
      identifier=identifier,
      type='table')) }}
{%- endmacro %}
