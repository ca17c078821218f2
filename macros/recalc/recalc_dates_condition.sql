{#
  Incremental recalculation: the condition that restricts an as-of-date partitioned model's input
  to the dates being recalculated. True (every date) on a first or full-refresh build, when var
  `recalc_dates` is not set, and in offline compilation (is_incremental() queries the database);
  otherwise `<column> in (<the dates>)`. The model then rewrites exactly those partitions
  (insert_overwrite on Spark, delete+insert on Redshift; configured in dbt_project.yml), all
  scenarios of each date together. `regcalc recalc` sets the var from its plan.
#}
{% macro recalc_dates_condition(column='as_of_date') %}
  {%- if var('recalc_dates', none) is none or var('offline_compile', false) or not execute or not is_incremental() -%}
    {{ return('1 = 1') }}
  {%- endif -%}
  {{ return(recalc_dates_in(column)) }}
{% endmacro %}

{#
  `<column> in (<the dates of var recalc_dates>)` (`1 = 0` for an empty list), whatever is being
  built: the one reading of the var, shared by the models (recalc_dates_condition) and their data
  tests (recalc_test_relation). The var is a list of 'yyyy-mm-dd' or a comma-separated string (the
  Airflow DAG passes one date); a value that is not a date stops the build.
#}
{% macro recalc_dates_in(column='as_of_date') %}
  {%- set dates = var('recalc_dates') -%}
  {%- if dates is string -%}
    {%- set dates = dates.split(',') -%}
  {%- endif -%}
  {%- if dates | length == 0 -%}
    {{ return('1 = 0') }}
  {%- endif -%}
  {%- set literals = [] -%}
  {%- for text in dates -%}
    {%- set day = (text | string | trim) -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', day) -%}
      {{ exceptions.raise_compiler_error("var recalc_dates: '" ~ day ~ "' is not a date (yyyy-mm-dd); "
          ~ "pass a list such as [\"2026-09-30\"]") }}
    {%- endif -%}
    {%- do literals.append("cast('" ~ modules.datetime.date.fromisoformat(day).isoformat() ~ "' as date)") -%}
  {%- endfor -%}
  {{ return(column ~ ' in (' ~ literals | join(', ') ~ ')') }}
{% endmacro %}
