{# ------------------------------------------------------------------------------------------- #}
{#  Type 1 dimension: one row per natural key of the source model (no history)                  #}
{# ------------------------------------------------------------------------------------------- #}
{% macro star_type1_dimension(spec) %}
  {%- set nk = spec.natural_key -%}
with source as (

    select * from {{ ref(spec.source) }}

),

final as (

    select
        {{ star_surrogate_key(star_prefix(nk, 'source.')) }} as {{ spec.key }},
        {%- for column in nk + spec.get('attributes', []) %}
        source.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from source

)

select * from final
{% endmacro %}

{# ------------------------------------------------------------------------------------------- #}
{#  Date dimension: one row per day of [start_date, end_date] (vars star_date_start / _end      #}
{#  override the meta). The spine is dbt.generate_series + dbt.dateadd, i.e. dbt.date_spine     #}
{#  with the day count computed here: dbt.date_spine asks the database for it while compiling,   #}
{#  which the offline Redshift compile (regcalc.redshift_check) cannot do.                       #}
{# ------------------------------------------------------------------------------------------- #}
{% macro star_date_dimension(spec) %}
  {%- set start_text = var('star_date_start', spec.start_date) | string -%}
  {%- set end_text = var('star_date_end', spec.end_date) | string -%}
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
        {{ star_date_key('parts.date_day') }} as {{ spec.key }},
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
{#  Fact: the source rows with the key of every dimension (the SCD2 version valid on the fact's #}
{#  date), the degenerate columns and the measures. Left joins: a fact row is never lost; a     #}
{#  missing dimension row shows as a null key, which the relationships / not_null tests catch.  #}
{# ------------------------------------------------------------------------------------------- #}
{% macro star_fact(spec) %}
  {%- set date_column = spec.get('date_column', 'as_of_date') -%}
  {%- set joins = [] -%}
  {%- for relationship in spec.dimensions -%}
    {%- set dim_spec = star_spec(relationship.dimension) if execute else {} -%}
    {%- do joins.append({'alias': 'dim_' ~ loop.index, 'name': relationship.dimension,
                         'spec': dim_spec, 'on': relationship.join_on}) -%}
  {%- endfor -%}
with facts as (

    select * from {{ ref(spec.source) }}
    where {{ recalc_dates_condition(date_column) }}

),
{%- for join in joins %}

{{ join.alias }} as (

    select * from {{ ref(join.name) }}

),
{%- endfor %}

final as (

    select
        {%- if spec.get('key') %}
        {{ star_surrogate_key(star_prefix(spec.grain, 'facts.')) }} as {{ spec.key }},
        {%- endif %}
        {%- for join in joins %}
        {{ join.alias }}.{{ join.spec.get('key', 'unknown_key') }},
        {%- endfor %}
        {%- for column in spec.get('degenerate', []) + spec.measures %}
        facts.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from facts
    {%- for join in joins %}
    left join {{ join.alias }}
        on {% for fact_column, dim_column in join.on.items() -%}
            {{ 'and ' if not loop.first }}facts.{{ fact_column }} = {{ join.alias }}.{{ dim_column }}
        {% endfor -%}
        {%- if join.spec.get('kind') == 'scd2_dimension' %}
        and facts.{{ date_column }} >= {{ join.alias }}.valid_from
        and facts.{{ date_column }} <= {{ join.alias }}.valid_to
        {%- endif %}
    {%- endfor %}

)

select * from final
{% endmacro %}

{# ------------------------------------------------------------------------------------------- #}
{#  Bridge: one row per fact row and member of its separator-delimited list column. Exact match #}
{#  with dbt.position on ',<list>,' (no split function is portable; the dimension is small).    #}
{# ------------------------------------------------------------------------------------------- #}
{% macro star_bridge(spec) %}
  {%- set separator = spec.get('separator', ',') -%}
  {%- set dim_spec = star_spec(spec.dimension) if execute else {} -%}
  {%- set sep = regcalc.string_literal(separator) -%}
with facts as (

    select * from {{ ref(spec.source) }}

),

members as (

    select * from {{ ref(spec.dimension) }}

),

listed as (

    select
        facts.{{ spec.fact_key }},
        {{ dbt.concat([sep, 'facts.' ~ spec.list_column, sep]) }} as delimited_list
    from facts
    where facts.{{ spec.list_column }} is not null

),

final as (

    select
        listed.{{ spec.fact_key }},
        members.{{ spec.get('dimension_key') or dim_spec.get('key', 'unknown_key') }},
        members.{{ spec.dimension_column }}
    from listed
    inner join members
        on {{ dbt.position(dbt.concat([sep, 'members.' ~ spec.dimension_column, sep]), 'listed.delimited_list') }} > 0

)

select * from final
{% endmacro %}
