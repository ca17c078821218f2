-- The LCR components of fct_lcr equal the sums of the deal-level weighted amounts
-- (tolerance 0.01 in reporting currency: fct_lcr rounds to 4 decimals).
with deals as (

    select
        entity_id,
        as_of_date,
        sum(case when lcr_section = 'hqla' and hqla_level = 'L1' then weighted_amount else 0 end) as hqla_level1,
        sum(case when lcr_section = 'hqla' and hqla_level = 'L2A' then weighted_amount else 0 end) as hqla_level2a,
        sum(case when lcr_section = 'hqla' and hqla_level = 'L2B' then weighted_amount else 0 end) as hqla_level2b,
        sum(case when lcr_section = 'outflow' then weighted_amount else 0 end) as total_outflows,
        sum(case when lcr_section = 'inflow' then weighted_amount else 0 end) as total_inflows
    from {{ ref('fct_deal_liquidity') }}
    group by entity_id, as_of_date

),

lcr as (

    select * from {{ ref('fct_lcr') }}

)

select deals.*, lcr.hqla_level1 as lcr_level1, lcr.total_outflows as lcr_outflows
from deals
full outer join lcr
    on deals.entity_id = lcr.entity_id and deals.as_of_date = lcr.as_of_date
where lcr.entity_id is null
    or deals.entity_id is null
    or abs(deals.hqla_level1 - lcr.hqla_level1) > 0.01
    or abs(deals.hqla_level2a - lcr.hqla_level2a) > 0.01
    or abs(deals.hqla_level2b - lcr.hqla_level2b) > 0.01
    or abs(deals.total_outflows - lcr.total_outflows) > 0.01
    or abs(deals.total_inflows - lcr.total_inflows) > 0.01
