-- The last stage of rpt_lcr_adjustment_waterfall (after the last point of vars.adjustment_points) is the
-- reported LCR: every amount and the ratio equal fct_lcr's, and every fct_lcr row has its stages (unadjusted
-- and one per point). Returns the keys that differ.
{%- set last_point = (var('adjustment_points') | list)[-1] %}
{%- set columns = ['hqla_level1', 'hqla_level2a', 'hqla_level2b', 'adj_15_cap', 'adj_40_cap', 'hqla',
                   'total_outflows', 'total_inflows', 'capped_inflows', 'net_cash_outflows', 'lcr'] %}
with waterfall as (

    select * from {{ recalc_test_relation(ref('rpt_lcr_adjustment_waterfall')) }}

),

reported as (

    select * from {{ recalc_test_relation(ref('fct_lcr')) }}

),

stages as (

    select
        waterfall.scenario,
        waterfall.as_of_date,
        waterfall.entity_id,
        count(*) as stage_count
    from waterfall
    group by waterfall.scenario, waterfall.as_of_date, waterfall.entity_id

)

select
    reported.scenario,
    reported.as_of_date,
    reported.entity_id
from reported
left join waterfall
    on reported.scenario = waterfall.scenario
    and reported.as_of_date = waterfall.as_of_date
    and reported.entity_id = waterfall.entity_id
    and waterfall.stage = {{ regcalc.string_literal(last_point) }}
left join stages
    on reported.scenario = stages.scenario
    and reported.as_of_date = stages.as_of_date
    and reported.entity_id = stages.entity_id
where
    waterfall.entity_id is null
    or stages.stage_count <> {{ var('adjustment_points') | length + 1 }}
    {%- for column in columns %}
    or not (reported.{{ column }} = waterfall.{{ column }} or (reported.{{ column }} is null and waterfall.{{ column }} is null))
    {%- endfor %}
