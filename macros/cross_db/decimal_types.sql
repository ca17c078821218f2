{#
  Exact decimal types (README "What is exact"): money_type for every monetary amount, rate_type for
  haircuts, run-off and inflow rates, weights and cap values. Their one definition is two vars of
  dbt_project.yml, which the YAML data_types ("{{ var('money_type') }}"), the seeds' column_types and
  the Spark jobs (python/regcalc/decimals.py) read too. decimal(p,s) is spelled the same on Spark,
  PostgreSQL and Redshift.
#}
{% macro type_money() %}{{ return(var('money_type')) }}{% endmacro %}

{% macro type_rate() %}{{ return(var('rate_type')) }}{% endmacro %}

{# [precision, scale] of a decimal(p,s) / numeric(p,s) data type; none for any other type. #}
{% macro decimal_precision_scale(data_type) %}
  {% set match = modules.re.match('^\\s*(decimal|numeric)\\s*\\(\\s*([0-9]+)\\s*,\\s*([0-9]+)\\s*\\)\\s*$', (data_type or '') | lower) %}
  {{ return([match.group(2) | int, match.group(3) | int] if match else none) }}
{% endmacro %}

{# `data_type` if it is a decimal (money_type, rate_type), else none. #}
{% macro decimal_type(data_type) %}
  {{ return(data_type if decimal_precision_scale(data_type) is not none else none) }}
{% endmacro %}

{#
  `expression` as a value of `data_type`. A decimal is rounded HALF_UP to its scale first: a product or a
  quotient carries more decimals than its operands, and rounding them explicitly (round() of a decimal
  rounds half away from zero on Spark, PostgreSQL and Redshift) makes every target give the same digits.
  Any other type is cast.
#}
{% macro as_type(expression, data_type) %}
  {% set decimal = decimal_precision_scale(data_type) %}
  {% if decimal is none %}{{ return('cast(' ~ expression ~ ' as ' ~ data_type ~ ')') }}{% endif %}
  {{ return('cast(round(' ~ expression ~ ', ' ~ decimal[1] ~ ') as ' ~ data_type ~ ')') }}
{% endmacro %}

{# An exact money value: a decimal sum, product or quotient as the money type (rounded HALF_UP). #}
{% macro money(expression) %}{{ return(as_type(expression, type_money())) }}{% endmacro %}
