{#-
  A cheap token that changes when a model's relation is rebuilt or its row count changes: dbt
  rebuilds tables under a new object id. None means "cannot tell" (views, unknown adapters), and
  the runner then always recomputes the plan.
-#}
{% macro relation_fingerprint(relation) -%}
  {{ return(adapter.dispatch('relation_fingerprint', 'dbt_lambda_sync')(relation)) }}
{%- endmacro %}


{% macro default__relation_fingerprint(relation) -%}
  {{ return(none) }}
{%- endmacro %}


{% macro postgres__relation_fingerprint(relation) -%}
  {%- set found = run_query("select cast(c.oid as text) from pg_class c"
      ~ " join pg_namespace n on n.oid = c.relnamespace"
      ~ " where c.relkind in ('r', 'p') and n.nspname = " ~ dbt.string_literal(relation.schema)
      ~ " and c.relname = " ~ dbt.string_literal(relation.identifier)) -%}
  {{ return(dbt_lambda_sync._fingerprint_with_count(found, relation)) }}
{%- endmacro %}


{% macro duckdb__relation_fingerprint(relation) -%}
  {%- set found = run_query("select cast(table_oid as varchar) from duckdb_tables()"
      ~ " where database_name = " ~ dbt.string_literal(relation.database)
      ~ " and schema_name = " ~ dbt.string_literal(relation.schema)
      ~ " and table_name = " ~ dbt.string_literal(relation.identifier)) -%}
  {{ return(dbt_lambda_sync._fingerprint_with_count(found, relation)) }}
{%- endmacro %}


{% macro _fingerprint_with_count(found, relation) -%}
  {%- if found.rows | length == 0 -%}{{ return(none) }}{%- endif -%}
  {%- set rows = run_query("select count(*) from " ~ relation).columns[0].values()[0] -%}
  {{ return(found.columns[0].values()[0] ~ ':' ~ rows) }}
{%- endmacro %}
