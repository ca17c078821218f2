-- Every scenario's LCR per as-of date and entity beside the base scenario's, with the change:
-- the stress-testing view (date x entity x scenario). The base scenario has zero changes.
with lcr as (

    select * from {{ ref('fct_lcr') }}

),

base as (

    select
        lcr.as_of_date,
        lcr.entity_id,
        lcr.hqla,
        lcr.net_cash_outflows,
        lcr.lcr
    from lcr
    where lcr.scenario = 'base'

),

final as (

    select
        lcr.date_key,
        lcr.entity_key,
        lcr.scenario,
        lcr.as_of_date,
        lcr.entity_id,
        lcr.reporting_currency,
        lcr.hqla,
        lcr.net_cash_outflows,
        lcr.lcr,
        base.hqla as base_hqla,
        base.net_cash_outflows as base_net_cash_outflows,
        base.lcr as base_lcr,
        lcr.hqla - base.hqla as hqla_change,
        lcr.net_cash_outflows - base.net_cash_outflows as net_cash_outflows_change,
        lcr.lcr - base.lcr as lcr_change,
        lcr.adjusted_deal_count
    from lcr
    left join base
        on lcr.as_of_date = base.as_of_date
        and lcr.entity_id = base.entity_id

)

select * from final
