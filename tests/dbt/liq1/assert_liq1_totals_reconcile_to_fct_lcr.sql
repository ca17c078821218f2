-- LIQ1's totals are fct_lcr's: row 1 = hqla_level1 + hqla_level2a + hqla_level2b, row 16 = total_outflows,
-- row 20 = total_inflows, row 21 = hqla, row 22 = net_cash_outflows, row 23 = lcr; and rows 1, 16 and 20
-- are their categories plus exactly what the rules of the entity-grain points (lcr_components, and any point
-- after it keyed by scenario, as_of_date and entity_id) changed (fct_adjustment_audit deltas of the HQLA
-- levels, total_outflows, total_inflows). Exact: tolerance 0. A row here is a difference.
{%- set entity_points = regcalc.entity_grain_points() %}
with daily as (

    select * from {{ recalc_test_relation(ref('fct_liq1_entity_day')) }}

),

lcr as (

    select * from {{ recalc_test_relation(ref('fct_lcr')) }}

),

audit as (

    select * from {{ recalc_test_relation(ref('fct_adjustment_audit')) }}
    where injection_point in (
        {%- for point in entity_points %}{{ regcalc.string_literal(point) }}{{ ', ' if not loop.last }}{% endfor -%}
    )

),

component_deltas as (

    -- an entity-grain point's row key is the entity_id
    select
        audit.scenario,
        audit.as_of_date,
        audit.row_key as entity_id,
        sum(case when audit.field in ('hqla_level1', 'hqla_level2a', 'hqla_level2b') then audit.delta else 0 end)
            as hqla_stock_delta,
        sum(case when audit.field = 'total_outflows' then audit.delta else 0 end) as total_outflows_delta,
        sum(case when audit.field = 'total_inflows' then audit.delta else 0 end) as total_inflows_delta
    from audit
    group by audit.scenario, audit.as_of_date, audit.row_key

),

compared as (

    select
        daily.scenario,
        daily.as_of_date,
        daily.entity_id,
        daily.liq1_row,
        daily.weighted_value,
        case daily.liq1_row
            when 1 then lcr.hqla_level1 + lcr.hqla_level2a + lcr.hqla_level2b
            when 16 then lcr.total_outflows
            when 20 then lcr.total_inflows
            when 21 then lcr.hqla
            when 22 then lcr.net_cash_outflows
            when 23 then cast(lcr.lcr as {{ type_money() }})
        end as fct_lcr_value,
        daily.component_adjustment,
        case daily.liq1_row
            when 1 then coalesce(component_deltas.hqla_stock_delta, 0)
            when 16 then coalesce(component_deltas.total_outflows_delta, 0)
            when 20 then coalesce(component_deltas.total_inflows_delta, 0)
        end as audited_adjustment
    from daily
    inner join lcr
        on daily.scenario = lcr.scenario
        and daily.as_of_date = lcr.as_of_date
        and daily.entity_id = lcr.entity_id
    left join component_deltas
        on daily.scenario = component_deltas.scenario
        and daily.as_of_date = component_deltas.as_of_date
        and daily.entity_id = component_deltas.entity_id
    where daily.liq1_row in (1, 16, 20, 21, 22, 23)

)

select * from compared
where
    weighted_value <> fct_lcr_value
    or (weighted_value is null) <> (fct_lcr_value is null)
    or coalesce(component_adjustment, 0) <> coalesce(audited_adjustment, 0)
