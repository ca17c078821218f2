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
        {{ money("sum(case when categories.lcr_section = 'hqla' and categories.hqla_level = 'L1'
            then categories.weighted_amount else 0 end)") }} as hqla_level1,
        {{ money("sum(case when categories.lcr_section = 'hqla' and categories.hqla_level = 'L2A'
            then categories.weighted_amount else 0 end)") }} as hqla_level2a,
        {{ money("sum(case when categories.lcr_section = 'hqla' and categories.hqla_level = 'L2B'
            then categories.weighted_amount else 0 end)") }} as hqla_level2b,
        {{ money('sum(categories.unwind_level1)') }} as unwind_level1,
        {{ money('sum(categories.unwind_level2a)') }} as unwind_level2a,
        {{ money('sum(categories.unwind_level2b)') }} as unwind_level2b,
        {{ money("sum(case when categories.lcr_section = 'outflow' then categories.weighted_amount else 0 end)") }}
            as total_outflows,
        {{ money("sum(case when categories.lcr_section = 'inflow' then categories.weighted_amount else 0 end)") }}
            as total_inflows,
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
