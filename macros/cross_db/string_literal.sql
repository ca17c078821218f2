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

{#
  on-run-start hook (dbt_project.yml): string_literal writes Redshift's literals, where a backslash
  escapes. PostgreSQL reads them the same way only with standard_conforming_strings = off (its default
  is on, where '\\' would keep both backslashes): stop before anything is built otherwise.
#}
{% macro check_string_literal_escapes() %}
  {{ return(adapter.dispatch('check_string_literal_escapes', 'regcalc')()) }}
{% endmacro %}

{% macro default__check_string_literal_escapes() %}
  {{ return('') }}
{% endmacro %}

{#- Redshift always escapes; it would otherwise fall back to the postgres__ check. -#}
{% macro redshift__check_string_literal_escapes() %}
  {{ return('') }}
{% endmacro %}

{% macro postgres__check_string_literal_escapes() %}
  {% if execute %}
    {% set setting = run_query('show standard_conforming_strings').columns[0].values()[0] %}
    {% if setting != 'off' %}
      {{ exceptions.raise_compiler_error(
          "PostgreSQL target " ~ target.name ~ ": standard_conforming_strings is '" ~ setting ~ "', but this "
          ~ "project writes string literals with backslash escapes, as Redshift reads them. Run "
          ~ "`alter database " ~ target.dbname ~ " set standard_conforming_strings = off` (or alter role "
          ~ target.user ~ "), then reconnect.") }}
    {% endif %}
  {% endif %}
  {{ return('') }}
{% endmacro %}
