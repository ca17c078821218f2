-- Each LIQ1 row that other rows add into (2, 5, 10, 16, 20) holds the sum of its rows' unweighted
-- values, and its weighted value is their sum (rows 2, 5, 10) or their sum plus the lcr_components
-- rules' component_adjustment (rows 16, 20). Exact: tolerance 0. A row here is a difference.
with daily as (

    select * from {{ ref('fct_liq1_entity_day') }}

),

template_rows as (

    select * from {{ ref('liq1_template_rows') }}

),

child_sums as (

    select
        daily.scenario,
        daily.as_of_date,
        daily.entity_id,
        template_rows.parent_row as liq1_row,
        sum(daily.unweighted_value) as unweighted_value,
        sum(daily.weighted_value) as weighted_value
    from daily
    inner join template_rows
        on daily.liq1_row = template_rows.liq1_row
    where template_rows.parent_row is not null
    group by daily.scenario, daily.as_of_date, daily.entity_id, template_rows.parent_row

),

final as (

    select
        daily.scenario,
        daily.as_of_date,
        daily.entity_id,
        daily.liq1_row,
        daily.unweighted_value,
        child_sums.unweighted_value as children_unweighted,
        daily.weighted_value,
        child_sums.weighted_value + coalesce(daily.component_adjustment, 0) as children_weighted
    from daily
    inner join child_sums
        on daily.scenario = child_sums.scenario
        and daily.as_of_date = child_sums.as_of_date
        and daily.entity_id = child_sums.entity_id
        and daily.liq1_row = child_sums.liq1_row

)

select * from final
where
    unweighted_value <> children_unweighted
    or weighted_value <> children_weighted
