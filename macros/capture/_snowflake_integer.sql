{#-
  Whether a Snowflake column holds integers: every integer type (INT, BIGINT...) is NUMBER with
  scale 0 there, whatever its precision. Shared by capture_key_group and sync_signature.
-#}
{% macro _snowflake_integer(column) -%}
  {{ return((column.dtype | upper) == 'NUMBER' and column.numeric_scale == 0) }}
{%- endmacro %}
