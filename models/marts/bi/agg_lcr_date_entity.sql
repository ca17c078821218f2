-- Power BI's most common question, the reported (base scenario) LCR per as-of date and entity,
-- ready to plot: one row per date and entity with the dimension keys and the ratio's components.
with lcr as (

    select * from {{ ref('fct_lcr') }}

),

final as (

    select
        lcr.date_key,
        lcr.entity_key,
        lcr.as_of_date,
        lcr.entity_id,
        lcr.reporting_currency,
        lcr.hqla,
        lcr.total_outflows,
        lcr.total_inflows,
        lcr.capped_inflows,
        lcr.net_cash_outflows,
        lcr.lcr,
        lcr.l2b_cap_binds,
        lcr.l2_cap_binds,
        lcr.inflow_cap_binds,
        lcr.deal_count,
        lcr.adjusted_deal_count
    from lcr
    where lcr.scenario = 'base'

)

select * from final
