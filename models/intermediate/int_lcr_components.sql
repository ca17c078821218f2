-- LCR components per entity and as-of date: HQLA by level after haircuts, the unwind of
-- short-dated secured transactions, and the weighted outflows and inflows.
with deals as (

    select * from {{ ref('int_deal_liquidity') }}

),

aggregated as (

    select
        deals.entity_id,
        deals.as_of_date,
        deals.reporting_currency,
        sum(case when deals.lcr_section = 'hqla' and deals.hqla_level = 'L1' then deals.weighted_amount else 0 end)
            as hqla_level1,
        sum(case when deals.lcr_section = 'hqla' and deals.hqla_level = 'L2A' then deals.weighted_amount else 0 end)
            as hqla_level2a,
        sum(case when deals.lcr_section = 'hqla' and deals.hqla_level = 'L2B' then deals.weighted_amount else 0 end)
            as hqla_level2b,
        sum(deals.unwind_level1) as unwind_level1,
        sum(deals.unwind_level2a) as unwind_level2a,
        sum(deals.unwind_level2b) as unwind_level2b,
        sum(case when deals.lcr_section = 'outflow' then deals.weighted_amount else 0 end) as total_outflows,
        sum(case when deals.lcr_section = 'inflow' then deals.weighted_amount else 0 end) as total_inflows,
        count(*) as deal_count
    from deals
    group by
        deals.entity_id,
        deals.as_of_date,
        deals.reporting_currency

)

select * from aggregated
