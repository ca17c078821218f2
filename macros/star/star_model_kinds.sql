{# ------------------------------------------------------------------------------------------- #}
{#  Type 1 dimension: one row per natural key of the source model (no history)                  #}
{# ------------------------------------------------------------------------------------------- #}
{% macro star_type1_dimension(source, natural_key, key, attributes=[]) %}
  {%- set nk = natural_key -%}
with source as (

    select * from {{ source }}

),

final as (

    select
        {{ star_surrogate_key(star_prefix(nk, 'source.')) }} as {{ key }},
        {%- for column in nk + attributes %}
        source.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from source

)

select * from final
{% endmacro %}

{# ------------------------------------------------------------------------------------------- #}
{#  Date dimension: one row per day of [start_date, end_date] (vars star_date_start / _end      #}
{#  override them).   The spine is dbt.generate_series + dbt.dateadd, i.e. dbt.date_spine     #}
{#  with the day count computed here: dbt.date_spine asks the database for it while compiling,   #}
{#  which the offline Redshift compile (regcalc.redshift_check) cannot do.                       #}
{# ------------------------------------------------------------------------------------------- #}
{% macro star_date_dimension(start_date, end_date, key) %}
  {%- set start_text = var('star_date_start', start_date) | string -%}
  {%- set end_text = var('star_date_end', end_date) | string -%}
  {%- set start_day = modules.datetime.date.fromisoformat(start_text) -%}
  {%- set end_day = modules.datetime.date.fromisoformat(end_text) -%}
  {%- set day_count = (end_day - start_day).days + 1 -%}
  {%- if day_count < 1 -%}
    {{ exceptions.raise_compiler_error("star_model: " ~ model.name ~ ": end_date before start_date") }}
  {%- endif -%}
with spine as (

    {{ dbt.generate_series(day_count) }}

),

days as (

    select
        cast({{ dbt.dateadd('day', 'spine.generated_number - 1', "cast('" ~ start_day.isoformat() ~ "' as date)") }} as date)
            as date_day
    from spine

),

parts as (

    select
        days.date_day,
        cast(extract(year from days.date_day) as integer) as year_number,
        cast(extract(month from days.date_day) as integer) as month_number,
        cast(extract(day from days.date_day) as integer) as day_number,
        -- ISO weekday, 1 = Monday ... 7 = Sunday: days since Monday 1900-01-01, modulo 7.
        cast(mod({{ dbt.datediff("cast('1900-01-01' as date)", 'days.date_day', 'day') }}, 7) + 1 as integer)
            as weekday_number,
        cast({{ dbt.last_day('days.date_day', 'month') }} as date) as month_last_day
    from days

),

final as (

    select
        {{ star_date_key('parts.date_day') }} as {{ key }},
        parts.date_day,
        parts.year_number as year,
        cast(floor((parts.month_number - 1) / 3) + 1 as integer) as quarter,
        parts.month_number as month,
        parts.day_number as day,
        parts.weekday_number as weekday,
        case when parts.weekday_number >= 6 then true else false end as is_weekend,
        case when parts.date_day = parts.month_last_day then true else false end as is_month_end,
        case
            when parts.date_day = parts.month_last_day and mod(parts.month_number, 3) = 0 then true
            else false
        end as is_quarter_end
    from parts

)

select * from final
{% endmacro %}

{#- Integer yyyymmdd of a date expression: the date dimension's key. -#}
{% macro star_date_key(date_expression) %}
  {{ return("cast(extract(year from " ~ date_expression ~ ") * 10000 + extract(month from " ~ date_expression
            ~ ") * 100 + extract(day from " ~ date_expression ~ ") as integer)") }}
{% endmacro %}

{# ------------------------------------------------------------------------------------------- #}
{#  Fact: the source rows with the key of every dimension (a versioned one: the SCD2 version    #}
{#  valid on the fact's date), the degenerate columns and the measures. Left joins: a fact row  #}
{#  is never lost; a missing dimension row shows as a null key, which the relationships /       #}
{#  not_null tests catch. Each dimension's rows sit in a CTE named after the dimension.         #}
{# ------------------------------------------------------------------------------------------- #}
{% macro star_fact(source, grain, measures, dimensions, key=none, date_column='as_of_date', degenerate=[]) %}
with facts as (

    select * from {{ source }}
    where {{ recalc_dates_condition(date_column) }}

),
{%- for dimension in dimensions %}

{{ dimension.dimension.identifier }} as (

    select * from {{ dimension.dimension }}

),
{%- endfor %}

final as (

    select
        {%- if key %}
        {{ star_surrogate_key(star_prefix(grain, 'facts.')) }} as {{ key }},
        {%- endif %}
        {%- for dimension in dimensions %}
        {{ dimension.dimension.identifier }}.{{ dimension.key }},
        {%- endfor %}
        {%- for column in degenerate + measures %}
        facts.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from facts
    {%- for dimension in dimensions %}
    {%- set alias = dimension.dimension.identifier %}
    left join {{ alias }}
        on {% for fact_column, dim_column in dimension.join_on.items() -%}
            {{ 'and ' if not loop.first }}facts.{{ fact_column }} = {{ alias }}.{{ dim_column }}
        {% endfor -%}
        {%- if dimension.get('versioned') %}
        and facts.{{ date_column }} >= {{ alias }}.valid_from
        and facts.{{ date_column }} <= {{ alias }}.valid_to
        {%- endif %}
    {%- endfor %}

)

select * from final
{% endmacro %}

{# ------------------------------------------------------------------------------------------- #}
{#  Bridge: one row per fact row and member of its separator-delimited list column. Exact match #}
{#  with dbt.position on ',<list>,' (no split function is portable; the dimension is small).    #}
{#  It carries the fact row's date: partitioned by it, a recalculation rewrites only its dates. #}
{# ------------------------------------------------------------------------------------------- #}
{% macro star_bridge(source, fact_key, list_column, dimension, dimension_column, dimension_key, separator=',', date_column='as_of_date') %}
  {%- set sep = regcalc.string_literal(separator) -%}
  {%- set members = dimension.identifier -%}
with facts as (

    select * from {{ source }}
    where {{ recalc_dates_condition(date_column) }}

),

{{ members }} as (

    select * from {{ dimension }}

),

listed as (

    select
        facts.{{ fact_key }},
        facts.{{ date_column }},
        {{ dbt.concat([sep, 'facts.' ~ list_column, sep]) }} as delimited_list
    from facts
    where facts.{{ list_column }} is not null

),

final as (

    select
        listed.{{ fact_key }},
        {{ members }}.{{ dimension_key }},
        {{ members }}.{{ dimension_column }},
        listed.{{ date_column }}
    from listed
    inner join {{ members }}
        on {{ dbt.position(dbt.concat([sep, members ~ '.' ~ dimension_column, sep]), 'listed.delimited_list') }} > 0

)

select * from final
{% endmacro %}
