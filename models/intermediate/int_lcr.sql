-- The Liquidity Coverage Ratio per scenario, entity and as-of date (BCBS 238 para 22, 69, Annex 1),
-- computed from the adjusted components; published with the star's keys by fct_lcr. A view: fct_lcr
-- reads only the dates it rebuilds, and the filter reaches the components through it.
with components as (

    select * from {{ ref('int_lcr_components__adjusted') }}

),

caps as (

    select * from {{ ref('param_lcr_caps') }}

),

{{ lcr_with_caps('components', 'caps') }},

published as (

    -- Amounts as computed (macro lcr_with_caps): exact money (sums exact, each product and quotient
    -- rounded HALF_UP to the money scale), so the LCR reconciles to its components to the last digit.
    -- The ratio is the quotient of two of them rounded HALF_UP to 6 decimals, published as a double.
    select
        ratio.scenario,
        ratio.entity_id,
        ratio.as_of_date,
        ratio.reporting_currency,
        ratio.hqla_level1,
        ratio.hqla_level2a,
        ratio.hqla_level2b,
        ratio.adjusted_level1,
        ratio.adjusted_level2a,
        ratio.adjusted_level2b,
        ratio.adj_15_cap,
        ratio.adj_40_cap,
        ratio.hqla,
        ratio.total_outflows,
        ratio.total_inflows,
        ratio.capped_inflows,
        ratio.net_cash_outflows,
        ratio.lcr,
        ratio.deal_count,
        ratio.adjusted_deal_count,
        ratio.is_adjusted as has_component_adjustments,
        ratio.adjustment_rule_ids as component_adjustment_rule_ids,
        ratio.parameter_set,
        ratio.run_id
    from lcr_computed as ratio

),

final as (

    -- A flag says what the published figures say: a cap binds when its published adjustment is
    -- above zero, the inflow cap when the published capped inflows are below the total inflows.
    select
        published.scenario,
        published.entity_id,
        published.as_of_date,
        published.reporting_currency,
        published.hqla_level1,
        published.hqla_level2a,
        published.hqla_level2b,
        published.adjusted_level1,
        published.adjusted_level2a,
        published.adjusted_level2b,
        published.adj_15_cap,
        published.adj_40_cap,
        published.hqla,
        published.total_outflows,
        published.total_inflows,
        published.capped_inflows,
        published.net_cash_outflows,
        published.lcr,
        published.adj_15_cap > 0 as l2b_cap_binds,
        published.adj_40_cap > 0 as l2_cap_binds,
        published.capped_inflows < published.total_inflows as inflow_cap_binds,
        published.deal_count,
        published.adjusted_deal_count,
        published.has_component_adjustments,
        published.component_adjustment_rule_ids,
        published.parameter_set,
        published.run_id
    from published

)

select * from final
