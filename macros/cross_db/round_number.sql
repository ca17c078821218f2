{#
  round(expression, places) of a double on every target. Spark and Redshift have
  round(double, int); PostgreSQL has round(numeric, int) only, so it rounds the value's exact decimal
  form (PostgreSQL prints a double as the shortest text that reads back the same, as Spark does before
  it rounds) and returns a double again, the type the other targets return.
#}
{% macro round_number(expression, places) %}
  {{- return(adapter.dispatch('round_number', 'regcalc')(expression, places)) -}}
{% endmacro %}

{% macro default__round_number(expression, places) -%}
  round({{ expression }}, {{ places }})
{%- endmacro %}

{#- Redshift would fall back to postgres__, whose cast to numeric means numeric(18,0) there. -#}
{% macro redshift__round_number(expression, places) -%}
  {{ regcalc.default__round_number(expression, places) }}
{%- endmacro %}

{% macro postgres__round_number(expression, places) -%}
  cast(round(cast({{ expression }} as numeric), {{ places }}) as {{ regcalc.type_double() }})
{%- endmacro %}
