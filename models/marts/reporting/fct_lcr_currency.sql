-- The LCR per scenario, entity, as-of date and deal currency (BCBS 238 para 42-43; the monitoring tool
-- "LCR by significant currency"): the HQLA, unwind and flows of the deals in that currency, with the same
-- caps as fct_lcr (macro lcr_with_caps), and whether the currency is significant: its liabilities (deals of
-- param_liability_products, every maturity) are at least the share of param_significant_currency of the
-- entity's total liabilities. Amounts in the entity's reporting currency (the ratio is the same in the
-- currency itself: every amount of a row is converted at one rate).
with deals as (

    select * from {{ ref('int_deal_liquidity__adjusted') }}
    where {{ recalc_dates_condition('as_of_date') }}

),

liability_products as (

    select * from {{ ref('param_liability_products') }}

),

significance as (

    select * from {{ ref('param_significant_currency') }}
    where parameter_code = 'SIGNIFICANT_LIABILITY_SHARE'

),

caps as (

    select * from {{ ref('param_lcr_caps') }}

),

components as (

    select
        deals.scenario,
        deals.as_of_date,
        deals.entity_id,
        deals.currency,
        deals.reporting_currency,
        {{ lcr_component_sums('deals') }},
        {{ money('sum(case when liability_products.product_type is not null then deals.amount_reporting_ccy else 0 end)') }}
            as liabilities,
        count(*) as deal_count,
        max(deals.run_id) as run_id
    from deals
    left join liability_products
        on deals.product_type = liability_products.product_type
    group by
        deals.scenario,
        deals.as_of_date,
        deals.entity_id,
        deals.currency,
        deals.reporting_currency

),

{{ lcr_with_caps('components', 'caps') }},

entity_liabilities as (

    select
        lcr_computed.scenario,
        lcr_computed.as_of_date,
        lcr_computed.entity_id,
        {{ money('sum(lcr_computed.liabilities)') }} as total_liabilities
    from lcr_computed
    group by lcr_computed.scenario, lcr_computed.as_of_date, lcr_computed.entity_id

),

final as (

    select
        lcr_computed.scenario,
        lcr_computed.entity_id,
        lcr_computed.as_of_date,
        lcr_computed.currency,
        lcr_computed.reporting_currency,
        lcr_computed.liabilities,
        entity_liabilities.total_liabilities,
        cast(
            round(lcr_computed.liabilities / nullif(entity_liabilities.total_liabilities, 0), 6)
            as {{ type_double() }}
        ) as liability_share,
        coalesce(
            lcr_computed.liabilities >= {{ money('significance.parameter_value * entity_liabilities.total_liabilities') }}
            and entity_liabilities.total_liabilities > 0, false
        ) as is_significant,
        lcr_computed.hqla_level1,
        lcr_computed.hqla_level2a,
        lcr_computed.hqla_level2b,
        lcr_computed.unwind_level1,
        lcr_computed.unwind_level2a,
        lcr_computed.unwind_level2b,
        lcr_computed.adjusted_level1,
        lcr_computed.adjusted_level2a,
        lcr_computed.adjusted_level2b,
        lcr_computed.adj_15_cap,
        lcr_computed.adj_40_cap,
        lcr_computed.hqla,
        lcr_computed.total_outflows,
        lcr_computed.total_inflows,
        lcr_computed.capped_inflows,
        lcr_computed.net_cash_outflows,
        lcr_computed.lcr,
        lcr_computed.adj_15_cap > 0 as l2b_cap_binds,
        lcr_computed.adj_40_cap > 0 as l2_cap_binds,
        lcr_computed.capped_inflows < lcr_computed.total_inflows as inflow_cap_binds,
        lcr_computed.deal_count,
        lcr_computed.run_id
    from lcr_computed
    inner join entity_liabilities
        on lcr_computed.scenario = entity_liabilities.scenario
        and lcr_computed.as_of_date = entity_liabilities.as_of_date
        and lcr_computed.entity_id = entity_liabilities.entity_id
    cross join significance

)

select * from final
