{#
  Star-schema generator. Each model of models/marts/star/ calls the macro of its kind with its spec
  as arguments, its sources as `ref()`s: star_scd2_dimension, star_type1_dimension (this file),
  star_date_dimension, star_fact, star_bridge (star_model_kinds.sql). Only dbt cross-database macros
  and portable SQL, so the same model compiles for Spark, PostgreSQL and Redshift.
#}

{#- `cast(<expr> as string)` pieces joined by '|', for hashing keys deterministically. -#}
{% macro star_key_text(expressions) %}
  {%- set parts = [] -%}
  {%- for expression in expressions -%}
    {%- if not loop.first -%}{%- do parts.append("'|'") -%}{%- endif -%}
    {%- do parts.append("coalesce(cast(" ~ expression ~ " as " ~ dbt.type_string() ~ "), '~')") -%}
  {%- endfor -%}
  {{ return(dbt.concat(parts)) }}
{% endmacro %}

{% macro star_surrogate_key(expressions) %}
  {{ return(dbt.hash(star_key_text(expressions))) }}
{% endmacro %}

{% macro star_open_end() %}
  {{ return("cast('9999-12-31' as date)") }}
{% endmacro %}

{# ------------------------------------------------------------------------------------------- #}
{#  SCD type 2 from dated snapshots (one row per natural key and snapshot date)                 #}
{# ------------------------------------------------------------------------------------------- #}
{% macro star_scd2_dimension(source, natural_key, tracked, key, snapshot_date='as_of_date', attributes=[]) %}
  {%- set nk = natural_key -%}
  {%- set snapshot = snapshot_date -%}
with source as (

    select * from {{ source }}

),

hashed as (

    select
        {%- for column in nk %}
        source.{{ column }},
        {%- endfor %}
        cast(source.{{ snapshot }} as date) as snapshot_date,
        {%- for column in tracked %}
        source.{{ column }},
        {%- endfor %}
        {{ star_surrogate_key(star_prefix(tracked, 'source.')) }} as tracked_hash
    from source

),

flagged as (

    select
        hashed.*,
        case
            when lag(hashed.tracked_hash) over (partition by {{ star_prefix(nk, 'hashed.') | join(', ') }} order by hashed.snapshot_date)
                = hashed.tracked_hash then 0
            else 1
        end as is_new_version
    from hashed

),

numbered as (

    select
        flagged.*,
        sum(flagged.is_new_version) over (
            partition by {{ star_prefix(nk, 'flagged.') | join(', ') }} order by flagged.snapshot_date
            rows between unbounded preceding and current row
        ) as version_number
    from flagged

),

versions as (

    select
        {%- for column in nk + tracked %}
        numbered.{{ column }},
        {%- endfor %}
        numbered.version_number,
        min(numbered.snapshot_date) as valid_from,
        max(numbered.snapshot_date) as last_seen_date
    from numbered
    group by
        {%- for column in nk + tracked %}
        numbered.{{ column }},
        {%- endfor %}
        numbered.version_number

),

bounded as (

    select
        versions.*,
        lead(versions.valid_from) over (
            partition by {{ star_prefix(nk, 'versions.') | join(', ') }} order by versions.valid_from
        ) as next_valid_from
    from versions

),
{%- if attributes %}

latest as (

    select
        {%- for column in nk + attributes %}
        numbered_source.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from (
        select
            source.*,
            row_number() over (
                partition by {{ star_prefix(nk, 'source.') | join(', ') }} order by source.{{ snapshot }} desc
            ) as recency
        from source
    ) as numbered_source
    where numbered_source.recency = 1

),
{%- endif %}

final as (

    select
        {{ star_surrogate_key(star_prefix(nk, 'bounded.') + ['bounded.valid_from']) }} as {{ key }},
        {%- for column in nk + tracked %}
        bounded.{{ column }},
        {%- endfor %}
        {%- for column in attributes %}
        latest.{{ column }},
        {%- endfor %}
        cast(bounded.version_number as integer) as version_number,
        bounded.valid_from,
        coalesce(
            cast({{ dbt.dateadd('day', -1, 'bounded.next_valid_from') }} as date),
            {{ star_open_end() }}
        ) as valid_to,
        bounded.last_seen_date,
        case when bounded.next_valid_from is null then true else false end as is_current
    from bounded
    {%- if attributes %}
    left join latest
        on {% for column in nk %}{{ 'and ' if not loop.first }}bounded.{{ column }} = latest.{{ column }}{% endfor %}
    {%- endif %}

)

select * from final
{% endmacro %}

{#- Jinja filter-like helper: prefix every name of a list. -#}
{% macro star_prefix(names, prefix) %}
  {%- set out = [] -%}
  {%- for name in names -%}{%- do out.append(prefix ~ name) -%}{%- endfor -%}
  {{ return(out) }}
{% endmacro %}
