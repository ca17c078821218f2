-- The LCR after each adjustment point, per scenario, entity and as-of date: the components as they leave
-- each stage of the DAG, with the caps and the ratio of fct_lcr applied to each (macro lcr_with_caps).
--   0 unadjusted  the deal rows before any rule (int_deal_liquidity)
--   n <point>     after the n-th point of vars.adjustment_points (deal, entity_category, lcr_components):
--                 its adjusted model, summed into components when its rows are finer than the entity
--                 (deals, categories); the last is the reported LCR (= fct_lcr)
-- Stage n's lcr minus stage n-1's is what the rules of point n moved.
with reported as (

    -- the keys reported (a table: a cross product over the union views below fails on Spark 4)
    select
        fct_lcr.scenario,
        fct_lcr.as_of_date,
        fct_lcr.entity_id,
        fct_lcr.reporting_currency
    from {{ ref('fct_lcr') }} as fct_lcr
    where {{ recalc_dates_condition('fct_lcr.as_of_date') }}

),

unadjusted_deals as (

    select * from {{ ref('int_deal_liquidity') }}
    where {{ recalc_dates_condition('as_of_date') }}

),

{%- for point_name in var('adjustment_points') %}

{{ point_name }}_point as (

    {%- set point_rows = ref(adjusted_model_name(point_name)) %}
    {%- if point_name not in regcalc.entity_grain_points() %}

    select
        point_rows.scenario,
        point_rows.as_of_date,
        point_rows.entity_id,
        {{ lcr_component_sums('point_rows') }}
    from {{ point_rows }} as point_rows
    where {{ recalc_dates_condition('point_rows.as_of_date') }}
    group by point_rows.scenario, point_rows.as_of_date, point_rows.entity_id
    {%- else %}

    select * from {{ point_rows }}
    where {{ recalc_dates_condition('as_of_date') }}
    {%- endif %}

),
{%- endfor %}

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

{%- set component_columns = ['hqla_level1', 'hqla_level2a', 'hqla_level2b', 'unwind_level1', 'unwind_level2a',
                             'unwind_level2b', 'total_outflows', 'total_inflows'] %}

components as (

    {#- (stage, the CTE of its components, whether that CTE has a scenario: the unadjusted deals have none,
        they are the same in every scenario); a stage's order is its place in the list #}
    {%- set stages = [('unadjusted', 'unadjusted', false)] %}
    {%- for point_name in var('adjustment_points') %}
    {%- do stages.append((point_name, point_name ~ '_point', true)) %}
    {%- endfor %}
    {%- for stage, cte, has_scenario in stages %}
    {%- set stage_order = loop.index0 %}
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
