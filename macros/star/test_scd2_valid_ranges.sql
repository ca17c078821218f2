{#
  Generic test: the versions of each natural key of an SCD2 dimension tile time. Returns the
  offending rows: a version that overlaps or leaves a gap before the next one (next.valid_from must
  be valid_to + 1 day), a valid_to before valid_from, or a key without exactly one current row
  (the one with valid_to = 9999-12-31).
#}
{% test scd2_valid_ranges(model, natural_key) %}
  {%- set partition = natural_key | join(', ') -%}
with versions as (

    select
        {{ partition }},
        valid_from,
        valid_to,
        is_current,
        lead(valid_from) over (partition by {{ partition }} order by valid_from) as next_valid_from
    from {{ model }}

),

bad_ranges as (

    select {{ partition }}, valid_from, 'range' as problem
    from versions
    where valid_to < valid_from
        or (next_valid_from is not null
            and cast({{ dbt.dateadd('day', 1, 'valid_to') }} as date) <> next_valid_from)
        or (next_valid_from is null and (valid_to <> cast('9999-12-31' as date) or not is_current))
        or (next_valid_from is not null and is_current)

),

bad_current as (

    select {{ partition }}, cast(null as date) as valid_from, 'current_count' as problem
    from versions
    group by {{ partition }}
    having sum(case when is_current then 1 else 0 end) <> 1

)

select * from bad_ranges
union all
select * from bad_current
{% endtest %}
