{# An 8-byte float on every target (dbt.type_float() is 4 bytes on Spark). #}
{% macro type_double() %}
  {{ return(adapter.dispatch('type_double', 'regcalc')()) }}
{% endmacro %}

{% macro default__type_double() %}double precision{% endmacro %}

{% macro spark__type_double() %}double{% endmacro %}
