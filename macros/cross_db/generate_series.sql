{#
  dbt.generate_series on Spark: one range() instead of dbt's default, which cross-joins a two-row
  union once per power of two (13 joins for the date dimension's 5,844 days) and costs seconds of
  planning for a few thousand rows. Same column (generated_number, 1 .. upper_bound).
#}
{% macro spark__generate_series(upper_bound) %}
    select cast(id as int) as generated_number from range(1, {{ upper_bound }} + 1)
{% endmacro %}
