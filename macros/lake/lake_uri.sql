{# The lake URI: --vars lake_uri, else $REGCALC_LAKE, else ./lake (the embedded default). #}
{% macro lake_uri() %}
  {{ return(var('lake_uri') or env_var('REGCALC_LAKE', 'lake')) }}
{% endmacro %}
