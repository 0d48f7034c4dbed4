{#-
  The adapters this package supports: the one list the macros check against (the CLI keeps its
  own, dbt_lambda_sync.warehouse.SUPPORTED_ADAPTERS; a unit test keeps the two equal). Redshift
  would inherit every postgres__ macro through dispatch; it is not listed until it is tested.
-#}
{% macro _supported_adapters() -%}
  {{ return(['duckdb', 'postgres', 'snowflake']) }}
{%- endmacro %}


{#-
  Raises the package's one error for an adapter it does not support: every default__ of a macro
  whose supported adapters each have their own implementation calls it.
-#}
{% macro _unsupported_adapter() -%}
  {%- do exceptions.raise_compiler_error("dbt-lambda-sync does not support adapter '"
      ~ adapter.type() ~ "' yet; supported: " ~ dbt_lambda_sync._supported_adapters() | join(', ')) -%}
{%- endmacro %}
