-- The Liquidity Coverage Ratio per scenario, entity and as-of date (BCBS 238 para 22, 69, Annex 1).
with components as (

    select * from {{ ref('int_lcr_components__adjusted') }}
    where {{ recalc_dates_condition('as_of_date') }}

),

caps as (

    select * from {{ ref('param_lcr_caps') }}

),

cap_values as (

    select
        max(case when caps.cap_code = 'L2B_CAP' then caps.cap_value end) as l2b_cap,
        max(case when caps.cap_code = 'L2_CAP' then caps.cap_value end) as l2_cap,
        max(case when caps.cap_code = 'INFLOW_CAP' then caps.cap_value end) as inflow_cap
    from caps

),

adjusted as (

    select
        components.*,
        cap_values.l2b_cap,
        cap_values.l2_cap,
        cap_values.inflow_cap,
        components.hqla_level1 + components.unwind_level1 as adjusted_level1,
        components.hqla_level2a + components.unwind_level2a as adjusted_level2a,
        components.hqla_level2b + components.unwind_level2b as adjusted_level2b
    from components
    cross join cap_values

),

cap_15 as (

    select
        adjusted.*,
        {{ lcr_adjustment_15_cap('adjusted.adjusted_level1', 'adjusted.adjusted_level2a',
                                 'adjusted.adjusted_level2b', 'adjusted.l2b_cap', 'adjusted.l2_cap') }}
            as adj_15_cap
    from adjusted

),

cap_40 as (

    select
        cap_15.*,
        {{ lcr_adjustment_40_cap('cap_15.adjusted_level1', 'cap_15.adjusted_level2a',
                                 'cap_15.adjusted_level2b', 'cap_15.adj_15_cap', 'cap_15.l2_cap') }}
            as adj_40_cap
    from cap_15

),

ratio as (

    select
        cap_40.*,
        cap_40.hqla_level1 + cap_40.hqla_level2a + cap_40.hqla_level2b
            - cap_40.adj_15_cap - cap_40.adj_40_cap as hqla,
        least(cap_40.total_inflows, cap_40.inflow_cap * cap_40.total_outflows) as capped_inflows
    from cap_40

),

final as (

    select
        ratio.scenario,
        ratio.entity_id,
        ratio.as_of_date,
        ratio.reporting_currency,
        {{ round_number('ratio.hqla_level1', 4) }} as hqla_level1,
        {{ round_number('ratio.hqla_level2a', 4) }} as hqla_level2a,
        {{ round_number('ratio.hqla_level2b', 4) }} as hqla_level2b,
        {{ round_number('ratio.adjusted_level1', 4) }} as adjusted_level1,
        {{ round_number('ratio.adjusted_level2a', 4) }} as adjusted_level2a,
        {{ round_number('ratio.adjusted_level2b', 4) }} as adjusted_level2b,
        {{ round_number('ratio.adj_15_cap', 4) }} as adj_15_cap,
        {{ round_number('ratio.adj_40_cap', 4) }} as adj_40_cap,
        {{ round_number('ratio.hqla', 4) }} as hqla,
        {{ round_number('ratio.total_outflows', 4) }} as total_outflows,
        {{ round_number('ratio.total_inflows', 4) }} as total_inflows,
        {{ round_number('ratio.capped_inflows', 4) }} as capped_inflows,
        {{ round_number('ratio.total_outflows - ratio.capped_inflows', 4) }} as net_cash_outflows,
        {{ round_number('ratio.hqla / nullif(ratio.total_outflows - ratio.capped_inflows, 0)', 6) }} as lcr,
        ratio.adj_15_cap > 0 as l2b_cap_binds,
        ratio.adj_40_cap > 0 as l2_cap_binds,
        ratio.total_inflows > ratio.inflow_cap * ratio.total_outflows as inflow_cap_binds,
        ratio.deal_count,
        ratio.adjusted_deal_count,
        ratio.is_adjusted as has_component_adjustments,
        ratio.adjustment_rule_ids as component_adjustment_rule_ids,
        ratio.run_id
    from ratio

)

select * from final
