{#-
  What the snapshot's rows depend on besides the model's values: the key column's name and how
  its values render as text (the snapshot's primary_key), and the names of the columns sent.
  Types that render alike share a name (every integer type, every varchar and text type); a key
  with a time zone renders in the session's TimeZone, so that is part of it.
-#}
{% macro sync_signature(columns) -%}
  {{ return(adapter.dispatch('sync_signature', 'dbt_lambda_sync')(columns)) }}
{%- endmacro %}


{% macro default__sync_signature(columns) -%}
  {%- do dbt_lambda_sync._unsupported_adapter() -%}
{%- endmacro %}


{#- PostgreSQL: a key with a time zone renders in current_setting('TimeZone'). -#}
{% macro postgres__sync_signature(columns) -%}
  {%- set key = columns[0] -%}
  {%- set type = dbt_lambda_sync._key_render_type(key.data_type) -%}
  {%- if 'with time zone' in type or type in ['timestamptz', 'timetz'] -%}
    {%- set zone = run_query("select current_setting('TimeZone')").columns[0].values()[0]
        if execute else '' -%}
    {%- set type = type ~ ', TimeZone ' ~ zone -%}
  {%- endif -%}
  {{ return(dbt_lambda_sync._signature(columns, type)) }}
{%- endmacro %}


{#- DuckDB: as PostgreSQL (DuckDB answers current_setting('TimeZone') too). -#}
{% macro duckdb__sync_signature(columns) -%}
  {{ return(dbt_lambda_sync.postgres__sync_signature(columns)) }}
{%- endmacro %}


{#-
  Snowflake: integers are NUMBER(p,0), whatever p; json_value writes every time in UTC, so the
  session's TIMEZONE is not part of it.
-#}
{% macro snowflake__sync_signature(columns) -%}
  {%- set key = columns[0] -%}
  {%- set type = dbt_lambda_sync._key_render_type(key.data_type) -%}
  {%- if dbt_lambda_sync._snowflake_integer(key) -%}
    {%- set type = 'integer' -%}
  {%- endif -%}
  {{ return(dbt_lambda_sync._signature(columns, type)) }}
{%- endmacro %}


{#- A key type's name, with the types that render alike under one name. -#}
{% macro _key_render_type(data_type) -%}
  {%- set type = data_type | lower -%}
  {%- if type in ['tinyint', 'smallint', 'integer', 'int', 'bigint', 'hugeint', 'int2', 'int4',
                  'int8', 'utinyint', 'usmallint', 'uinteger', 'ubigint', 'uhugeint'] -%}
    {{ return('integer') }}
  {%- elif type in ['text', 'string'] or type.startswith('varchar')
        or type.startswith('character varying') -%}
    {{ return('text') }}
  {%- endif -%}
  {{ return(type) }}
{%- endmacro %}


{% macro _signature(columns, key_type) -%}
  {{ return({'key': columns[0].name ~ ' (' ~ key_type ~ ')',
             'columns': columns | map(attribute='name') | join(', ')}) }}
{%- endmacro %}
