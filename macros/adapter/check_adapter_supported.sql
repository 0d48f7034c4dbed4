{#-
  Fails the compile, before any SQL runs, on an adapter the package does not support. Called
  first by the package's on-run-start (dbt_project.yml) and by the capture_changes post-hook, also
  while dbt parses (an adapter's type is known then).
-#}
{% macro check_adapter_supported() -%}
  {{ return(adapter.dispatch('check_adapter_supported', 'dbt_lambda_sync')()) }}
{%- endmacro %}


{% macro default__check_adapter_supported() -%}
  {%- if adapter.type() not in dbt_lambda_sync._supported_adapters() -%}
    {%- do dbt_lambda_sync._unsupported_adapter() -%}
  {%- endif -%}
  {{ return('') }}
{%- endmacro %}
