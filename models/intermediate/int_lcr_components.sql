-- LCR components per scenario, entity and as-of date: HQLA by level after haircuts, the unwind of
-- short-dated secured transactions, and the weighted outflows and inflows (exact sums of money).
with categories as (

    select * from {{ ref('int_lcr_category_totals__adjusted') }}

),

aggregated as (

    select
        categories.scenario,
        categories.as_of_date,
        categories.entity_id,
        categories.reporting_currency,
        {{ lcr_component_sums('categories') }},
        sum(categories.deal_count) as deal_count,
        sum(categories.adjusted_deal_count) as adjusted_deal_count,
        -- one set per entity: int_deal_liquidity gives every deal of an entity its entity's set
        categories.parameter_set,
        max(categories.run_id) as run_id
    from categories
    group by
        categories.scenario,
        categories.as_of_date,
        categories.entity_id,
        categories.reporting_currency,
        categories.parameter_set

)

select * from aggregated
