{#
  A SQL string literal holding `value` exactly, whatever it contains (quotes, backslashes,
  semicolons, comment markers, Jinja braces): values from analysts' CSVs are data, never SQL.
#}
{% macro string_literal(value) %}
  {{- return(adapter.dispatch('string_literal', 'regcalc')(value)) -}}
{% endmacro %}

{#- Spark unescapes backslashes in literals and substitutes ${...} variables even inside them. -#}
{% macro spark__string_literal(value) -%}
  '{{ value | string | replace('\\', '\\\\') | replace("'", "\\'") | replace('$', '\\u0024') }}'
{%- endmacro %}

{#- Redshift (and Postgres-like targets): double the quote; backslash is an escape character. -#}
{% macro default__string_literal(value) -%}
  '{{ value | string | replace('\\', '\\\\') | replace("'", "''") }}'
{%- endmacro %}
