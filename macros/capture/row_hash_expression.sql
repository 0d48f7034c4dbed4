{#-
  SQL for a row's hash (compute_plan stores it as text in row_hash): cheap, computed by the
  warehouse over the typed selected columns (the key included) without rendering JSON.
  Opaque to the runner. compute_plan takes a hash mismatch only as a candidate change and compares
  the rendered JSON before planning it, so a hash never has to match one written by another
  version of this package or engine (64 bits: equal hashes over different content are not a
  practical concern for one key's consecutive versions).
  A signature is hashed in with the values: what the JSON depends on besides them (this scheme,
  the engine's version, the session time zone, the columns' names as events spell them and their
  types). When any of them changes, every row is compared by its JSON once, and its snapshot hash
  is rewritten.
-#}
{% macro row_hash_expression(columns) -%}
  {{ return(adapter.dispatch('row_hash_expression', 'dbt_lambda_sync')(columns)) }}
{%- endmacro %}


{% macro default__row_hash_expression(columns) -%}
  {%- do dbt_lambda_sync._unsupported_adapter() -%}
{%- endmacro %}


{#-
  PostgreSQL: a 64-bit hash (hashtextextended, 2-3x cheaper than md5 here) of the row's text form.
  Both it and row_to_json come from each type's output function, so equal text means equal JSON;
  NULL and '' differ in a row's text (nothing vs ""). Hashing the typed values instead
  (hash_record_extended) is cheaper still but fails on types without a hash (json, point) and
  equates values that JSON tells apart (numeric 1.1 and 1.10, -0 and 0).
-#}
{% macro postgres__row_hash_expression(columns) -%}
  {%- set signature = dbt_lambda_sync._row_hash_signature(columns) -%}
  {%- set names = [] -%}
  {%- for column in columns -%}
    {%- do names.append(dbt_lambda_sync.quote_identifier(column.name)) -%}
  {%- endfor -%}
  {{ return("hashtextextended(" ~ dbt_lambda_sync.sql_literal(signature) ~ " || cast(row("
      ~ names | join(', ') ~ ") as " ~ dbt.type_string() ~ "), 0)") }}
{%- endmacro %}


{#-
  DuckDB: hash() over the typed values (64 bits, order-sensitive, NULL distinct from ''). It
  does not tell -0.0 from 0.0, which JSON does: floating columns add their sign bit.
-#}
{% macro duckdb__row_hash_expression(columns) -%}
  {%- set args = [dbt_lambda_sync.sql_literal(dbt_lambda_sync._row_hash_signature(columns))] -%}
  {%- for column in columns -%}
    {%- set name = dbt_lambda_sync.quote_identifier(column.name) -%}
    {%- do args.append(name) -%}
    {%- if (column.dtype | upper) in ('DOUBLE', 'FLOAT', 'REAL', 'FLOAT4', 'FLOAT8') -%}
      {%- do args.append("signbit(" ~ name ~ ")") -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return("hash(" ~ args | join(', ') ~ ")") }}
{%- endmacro %}


{#- The signature hashed in with the values (an md5 of the scheme, the context and the columns). -#}
{% macro _row_hash_signature(columns) -%}
  {%- if not execute -%}{{ return('') }}{%- endif -%}
  {%- set context = run_query(dbt_lambda_sync.row_hash_context_query()) -%}
  {%- set parts = ['dls-row-hash-1', adapter.type()] -%}
  {%- for value in context.rows[0] -%}{%- do parts.append(value | string) -%}{%- endfor -%}
  {%- for column in columns -%}
    {%- do parts.append(dbt_lambda_sync.event_column_name(column.name) ~ ' ' ~ column.data_type) -%}
  {%- endfor -%}
  {{ return(local_md5(parts | join('|'))) }}
{%- endmacro %}


{#-
  Snowflake: hash() over the typed values (64 bits, NULL distinct from ''). Floating columns add
  their text, so that values hash() may equate but JSON tells apart (-0 and 0) still differ.
-#}
{% macro snowflake__row_hash_expression(columns) -%}
  {%- set args = [dbt_lambda_sync.sql_literal(dbt_lambda_sync._row_hash_signature(columns))] -%}
  {%- for column in columns -%}
    {%- set name = dbt_lambda_sync.quote_identifier(column.name) -%}
    {%- do args.append(name) -%}
    {%- if column.is_float() -%}
      {%- do args.append("to_varchar(" ~ name ~ ")") -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return("hash(" ~ args | join(', ') ~ ")") }}
{%- endmacro %}
