-- The LCR after each adjustment point, per scenario, entity and as-of date: the components as they leave
-- each stage of the DAG, with the caps and the ratio of fct_lcr applied to each (macro lcr_with_caps).
--   0 unadjusted      the deal rows before any rule (int_deal_liquidity)
--   1 deal            after the deal point (int_lcr_category_totals sums int_deal_liquidity__adjusted)
--   2 entity_category after the entity_category point (int_lcr_components)
--   3 lcr_components  after the lcr_components point: the reported LCR (= fct_lcr)
-- Stage n's lcr minus stage n-1's is what the rules of point n moved.
with reported as (

    -- the keys reported (a table: a cross product over the union views below fails on Spark 4)
    select
        fct_lcr.scenario,
        fct_lcr.as_of_date,
        fct_lcr.entity_id,
        fct_lcr.reporting_currency
    from {{ ref('fct_lcr') }} as fct_lcr

),

unadjusted_deals as (

    select * from {{ ref('int_deal_liquidity') }}

),

deal_point as (

    select * from {{ ref('int_lcr_category_totals') }}

),

entity_category_point as (

    select * from {{ ref('int_lcr_components') }}

),

lcr_components_point as (

    select * from {{ ref('int_lcr_components__adjusted') }}

),

caps as (

    select * from {{ ref('param_lcr_caps') }}

),

unadjusted as (

    select
        unadjusted_deals.as_of_date,
        unadjusted_deals.entity_id,
        {{ lcr_component_sums('unadjusted_deals') }}
    from unadjusted_deals
    group by unadjusted_deals.as_of_date, unadjusted_deals.entity_id

),

after_deal as (

    select
        deal_point.scenario,
        deal_point.as_of_date,
        deal_point.entity_id,
        {{ lcr_component_sums('deal_point') }}
    from deal_point
    group by deal_point.scenario, deal_point.as_of_date, deal_point.entity_id

),

{%- set component_columns = ['hqla_level1', 'hqla_level2a', 'hqla_level2b', 'unwind_level1', 'unwind_level2a',
                             'unwind_level2b', 'total_outflows', 'total_inflows'] %}

components as (

    {#- (stage_order, stage, the CTE of its components, whether that CTE has a scenario: the unadjusted deals
        have none, they are the same in every scenario) #}
    {%- set stages = [(0, 'unadjusted', 'unadjusted', false), (1, 'deal', 'after_deal', true),
                      (2, 'entity_category', 'entity_category_point', true),
                      (3, 'lcr_components', 'lcr_components_point', true)] %}
    {%- for stage_order, stage, cte, has_scenario in stages %}
    {%- set coalesced = [] %}
    {%- for column in component_columns %}
    {%- do coalesced.append('coalesce(' ~ cte ~ '.' ~ column ~ ', 0) as ' ~ column) %}
    {%- endfor %}
    {{ 'union all' if not loop.first }}

    select
        reported.scenario,
        reported.as_of_date,
        reported.entity_id,
        reported.reporting_currency,
        {{ stage_order }} as stage_order,
        '{{ stage }}' as stage,
        {{ coalesced | join(',\n        ') }}
    from reported
    left join {{ cte }}
        on reported.as_of_date = {{ cte }}.as_of_date
        and reported.entity_id = {{ cte }}.entity_id
        {% if has_scenario %}and reported.scenario = {{ cte }}.scenario{% endif %}
    {% endfor %}

),

{{ lcr_with_caps('components', 'caps') }},

final as (

    select
        lcr_computed.scenario,
        lcr_computed.entity_id,
        lcr_computed.as_of_date,
        lcr_computed.stage_order,
        lcr_computed.stage,
        lcr_computed.reporting_currency,
        lcr_computed.hqla_level1,
        lcr_computed.hqla_level2a,
        lcr_computed.hqla_level2b,
        lcr_computed.unwind_level1,
        lcr_computed.unwind_level2a,
        lcr_computed.unwind_level2b,
        lcr_computed.adj_15_cap,
        lcr_computed.adj_40_cap,
        lcr_computed.hqla,
        lcr_computed.total_outflows,
        lcr_computed.total_inflows,
        lcr_computed.capped_inflows,
        lcr_computed.net_cash_outflows,
        lcr_computed.lcr
    from lcr_computed

)

select * from final
