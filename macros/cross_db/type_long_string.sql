{#
  A string column for values that may exceed 256 characters (e.g. dbt test ids): dbt.type_string()
  is `text` on Redshift, which Redshift stores as varchar(256).
#}
{% macro type_long_string() %}
  {{ return(adapter.dispatch('type_long_string', 'regcalc')()) }}
{% endmacro %}

{% macro default__type_long_string() %}varchar(65535){% endmacro %}

{% macro spark__type_long_string() %}string{% endmacro %}
