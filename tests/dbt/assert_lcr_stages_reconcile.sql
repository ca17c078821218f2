-- Each aggregation step keeps every amount, exactly: category totals = sum of adjusted deals,
-- components = sum of adjusted category totals, fct_lcr = adjusted components. Amounts are money
-- (exact decimals, README "What is exact"), so the stages agree to the last digit at any volume; a
-- group missing at a stage (a null) is a difference too. fct_lcr reads the rows of the last adjustment
-- point of vars.adjustment_points (lcr_components, or one declared after it).
{%- set last_point = var('adjustment_points').keys() | list | last %}
with deals as (

    select
        scenario,
        as_of_date,
        entity_id,
        sum(case when lcr_section = 'hqla' and hqla_level = 'L1' then weighted_amount else 0 end) as level1,
        sum(case when lcr_section = 'outflow' then weighted_amount else 0 end) as outflows,
        sum(case when lcr_section = 'inflow' then weighted_amount else 0 end) as inflows,
        sum(unwind_level2a) as unwind2a
    from {{ recalc_test_relation(ref('int_deal_liquidity__adjusted')) }}
    group by scenario, as_of_date, entity_id

),

categories as (

    select
        scenario,
        as_of_date,
        entity_id,
        sum(case when lcr_section = 'hqla' and hqla_level = 'L1' then weighted_amount else 0 end) as level1,
        sum(case when lcr_section = 'outflow' then weighted_amount else 0 end) as outflows,
        sum(case when lcr_section = 'inflow' then weighted_amount else 0 end) as inflows,
        sum(unwind_level2a) as unwind2a
    from {{ recalc_test_relation(ref('int_lcr_category_totals')) }}
    group by scenario, as_of_date, entity_id

),

adjusted_categories as (

    select
        scenario,
        as_of_date,
        entity_id,
        sum(case when lcr_section = 'outflow' then weighted_amount else 0 end) as outflows,
        sum(case when lcr_section = 'inflow' then weighted_amount else 0 end) as inflows
    from {{ recalc_test_relation(ref('int_lcr_category_totals__adjusted')) }}
    group by scenario, as_of_date, entity_id

),

components as (

    select * from {{ recalc_test_relation(ref('int_lcr_components')) }}

),

adjusted_components as (

    select * from {{ recalc_test_relation(ref(adjusted_model_name(last_point))) }}

),

lcr as (

    select * from {{ recalc_test_relation(ref('fct_lcr')) }}

),

compared as (

    select
        deals.scenario,
        deals.as_of_date,
        deals.entity_id,
        (
            abs(deals.level1 - categories.level1) + abs(deals.outflows - categories.outflows)
            + abs(deals.inflows - categories.inflows) + abs(deals.unwind2a - categories.unwind2a)
        ) as deals_vs_categories,
        (
            abs(adjusted_categories.outflows - components.total_outflows)
            + abs(adjusted_categories.inflows - components.total_inflows)
        ) as categories_vs_components,
        (
            abs(adjusted_components.hqla_level1 - lcr.hqla_level1)
            + abs(adjusted_components.total_outflows - lcr.total_outflows)
            + abs(adjusted_components.total_inflows - lcr.total_inflows)
        ) as components_vs_lcr
    from deals
    left join categories
        on deals.scenario = categories.scenario and deals.as_of_date = categories.as_of_date
        and deals.entity_id = categories.entity_id
    left join adjusted_categories
        on deals.scenario = adjusted_categories.scenario and deals.as_of_date = adjusted_categories.as_of_date
        and deals.entity_id = adjusted_categories.entity_id
    left join components
        on deals.scenario = components.scenario and deals.as_of_date = components.as_of_date
        and deals.entity_id = components.entity_id
    left join adjusted_components
        on deals.scenario = adjusted_components.scenario and deals.as_of_date = adjusted_components.as_of_date
        and deals.entity_id = adjusted_components.entity_id
    left join lcr
        on deals.scenario = lcr.scenario and deals.as_of_date = lcr.as_of_date and deals.entity_id = lcr.entity_id

)

select * from compared
where
    coalesce(deals_vs_categories <> 0, true)
    or coalesce(categories_vs_components <> 0, true)
    or coalesce(components_vs_lcr <> 0, true)
