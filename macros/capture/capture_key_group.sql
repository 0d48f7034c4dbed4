{#-
  The expression compute_plan groups on to find duplicated keys. The key column itself when its
  type's equality is exactly equality of its text (integers, dates...: cheaper to hash than text);
  otherwise the key's text (numeric 1.0 and 1.00, or -0.0 and 0.0, are equal but print apart).
-#}
{% macro capture_key_group(key_column, key_text) -%}
  {{ return(adapter.dispatch('capture_key_group', 'dbt_lambda_sync')(key_column, key_text)) }}
{%- endmacro %}


{% macro default__capture_key_group(key_column, key_text) -%}
  {%- do dbt_lambda_sync._unsupported_adapter() -%}
{%- endmacro %}


{#- PostgreSQL's names of the types whose equality is equality of their text. -#}
{% macro postgres__capture_key_group(key_column, key_text) -%}
  {{ return(dbt_lambda_sync._key_group_of_types(key_column, key_text, [
      'smallint', 'integer', 'bigint', 'int2', 'int4', 'int8', 'uuid', 'date', 'boolean', 'bool'])) }}
{%- endmacro %}


{#- DuckDB's names of the types whose equality is equality of their text. -#}
{% macro duckdb__capture_key_group(key_column, key_text) -%}
  {{ return(dbt_lambda_sync._key_group_of_types(key_column, key_text, [
      'tinyint', 'smallint', 'integer', 'bigint', 'hugeint', 'utinyint', 'usmallint', 'uinteger',
      'ubigint', 'uhugeint', 'uuid', 'date', 'boolean'])) }}
{%- endmacro %}


{#- The key column when its type (case-insensitive) is one of `exact`, else the key's text. -#}
{% macro _key_group_of_types(key_column, key_text, exact) -%}
  {%- if (key_column.dtype | lower) in exact -%}
    {{ return(dbt_lambda_sync.quote_identifier(key_column.name)) }}
  {%- endif -%}
  {{ return(key_text) }}
{%- endmacro %}


{#- Snowflake: integers are NUMBER with scale 0; dates and booleans print one way. -#}
{% macro snowflake__capture_key_group(key_column, key_text) -%}
  {%- if dbt_lambda_sync._snowflake_integer(key_column) -%}
    {{ return(dbt_lambda_sync.quote_identifier(key_column.name)) }}
  {%- endif -%}
  {{ return(dbt_lambda_sync._key_group_of_types(key_column, key_text, ['date', 'boolean'])) }}
{%- endmacro %}
