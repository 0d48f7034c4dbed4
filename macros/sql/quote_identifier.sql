{#-
  A column name quoted for SQL. adapter.quote wraps a name in the adapter's quote character but
  does not escape that character inside it, so a column named  Key "Id"  breaks every statement
  that names it. Where the quote character is the SQL-standard double quote, double the ones
  inside (SQL's escape); other adapters keep adapter.quote until they get an override.
-#}
{% macro quote_identifier(name) -%}
  {{ return(adapter.dispatch('quote_identifier', 'dbt_lambda_sync')(name)) }}
{%- endmacro %}


{% macro default__quote_identifier(name) -%}
  {%- if adapter.quote('x') == '"x"' -%}
    {{ return('"' ~ (name | replace('"', '""')) ~ '"') }}
  {%- endif -%}
  {{ return(adapter.quote(name)) }}
{%- endmacro %}
