{#
  BCBS 238 Annex 1 para 6: the caps on Level 2 and Level 2B assets, computed on the amounts adjusted
  for the unwind of short-term secured funding / lending (para 48). With the caps as parameters
  (c15 = 0.15, c40 = 0.40 in param_lcr_caps): 15/85 = c15 / (1 - c15), 15/60 = c15 / (1 - c40),
  2/3 = c40 / (1 - c40). Each term x - c / (1 - d) * y is computed as (x (1 - d) - c y) / (1 - d): one
  division, its products and its quotient rounded to the money scale (macro money), so the adjustments
  are exact decimals with the same digits on every target and a level exactly at its cap gives 0.
#}
{% macro lcr_adjustment_15_cap(adjusted_level1, adjusted_level2a, adjusted_level2b, l2b_cap, l2_cap) %}
    greatest(
        {{ lcr_cap_excess(adjusted_level2b, '(' ~ adjusted_level1 ~ ' + ' ~ adjusted_level2a ~ ')', l2b_cap, l2b_cap) }},
        {{ lcr_cap_excess(adjusted_level2b, adjusted_level1, l2b_cap, l2_cap) }},
        0
    )
{% endmacro %}

{% macro lcr_adjustment_40_cap(adjusted_level1, adjusted_level2a, adjusted_level2b, adjustment_15_cap, l2_cap) %}
    greatest(
        {{ lcr_cap_excess('(' ~ adjusted_level2a ~ ' + ' ~ adjusted_level2b ~ ' - ' ~ adjustment_15_cap ~ ')',
                          adjusted_level1, l2_cap, l2_cap) }},
        0
    )
{% endmacro %}

{# x - c / (1 - d) * y as money: (x (1 - d) - c y) / (1 - d), products and quotient rounded HALF_UP. #}
{% macro lcr_cap_excess(x, y, c, d) %}
  {{- money('(' ~ money(x ~ ' * (1 - ' ~ d ~ ')') ~ ' - ' ~ money(c ~ ' * ' ~ y) ~ ') / (1 - ' ~ d ~ ')') -}}
{% endmacro %}

{#
  The sums of deal-level (or category-level) rows into the LCR components, as select-list items: HQLA
  by level (lcr_section 'hqla', weighted after haircut), the unwind contributions, and the weighted
  outflows and inflows. `rows` is the alias of a relation with lcr_section, hqla_level,
  weighted_amount and unwind_level1/2a/2b. One definition for int_lcr_components, the LCR by
  currency and the adjustment waterfall.
#}
{% macro lcr_component_sums(rows) %}
        {{ money("sum(case when " ~ rows ~ ".lcr_section = 'hqla' and " ~ rows ~ ".hqla_level = 'L1'
            then " ~ rows ~ ".weighted_amount else 0 end)") }} as hqla_level1,
        {{ money("sum(case when " ~ rows ~ ".lcr_section = 'hqla' and " ~ rows ~ ".hqla_level = 'L2A'
            then " ~ rows ~ ".weighted_amount else 0 end)") }} as hqla_level2a,
        {{ money("sum(case when " ~ rows ~ ".lcr_section = 'hqla' and " ~ rows ~ ".hqla_level = 'L2B'
            then " ~ rows ~ ".weighted_amount else 0 end)") }} as hqla_level2b,
        {{ money('sum(' ~ rows ~ '.unwind_level1)') }} as unwind_level1,
        {{ money('sum(' ~ rows ~ '.unwind_level2a)') }} as unwind_level2a,
        {{ money('sum(' ~ rows ~ '.unwind_level2b)') }} as unwind_level2b,
        {{ money("sum(case when " ~ rows ~ ".lcr_section = 'outflow' then " ~ rows ~ ".weighted_amount else 0 end)") }}
            as total_outflows,
        {{ money("sum(case when " ~ rows ~ ".lcr_section = 'inflow' then " ~ rows ~ ".weighted_amount else 0 end)") }}
            as total_inflows
{%- endmacro %}

{#
  From LCR components to the LCR (BCBS 238 para 22, 69, Annex 1): CTEs to place in a model's `with`
  list after the CTE `components` (any key columns plus hqla_level1/2a/2b, unwind_level1/2a/2b,
  total_outflows, total_inflows, all money). The last CTE, `lcr_computed`, holds every column of
  `components` plus l2b_cap, l2_cap, inflow_cap (rates of `caps`, the relation of param_lcr_caps),
  adjusted_level1/2a/2b (after the unwind), adj_15_cap, adj_40_cap, hqla, capped_inflows,
  net_cash_outflows (money) and lcr (a double: the exact quotient rounded HALF_UP to 6 decimals, null
  when net cash outflows are 0). One definition for fct_lcr, fct_lcr_currency and
  rpt_lcr_adjustment_waterfall.
#}
{% macro lcr_with_caps(components, caps) %}
lcr_cap_values as (

    select
        max(case when caps.cap_code = 'L2B_CAP' then caps.cap_value end) as l2b_cap,
        max(case when caps.cap_code = 'L2_CAP' then caps.cap_value end) as l2_cap,
        max(case when caps.cap_code = 'INFLOW_CAP' then caps.cap_value end) as inflow_cap
    from {{ caps }} as caps

),

lcr_unwound as (

    select
        {{ components }}.*,
        lcr_cap_values.l2b_cap,
        lcr_cap_values.l2_cap,
        lcr_cap_values.inflow_cap,
        {{ money(components ~ '.hqla_level1 + ' ~ components ~ '.unwind_level1') }} as adjusted_level1,
        {{ money(components ~ '.hqla_level2a + ' ~ components ~ '.unwind_level2a') }} as adjusted_level2a,
        {{ money(components ~ '.hqla_level2b + ' ~ components ~ '.unwind_level2b') }} as adjusted_level2b
    from {{ components }}
    cross join lcr_cap_values

),

lcr_cap_15 as (

    select
        lcr_unwound.*,
        {{ money(lcr_adjustment_15_cap('lcr_unwound.adjusted_level1', 'lcr_unwound.adjusted_level2a',
                                       'lcr_unwound.adjusted_level2b', 'lcr_unwound.l2b_cap', 'lcr_unwound.l2_cap')) }}
            as adj_15_cap
    from lcr_unwound

),

lcr_cap_40 as (

    select
        lcr_cap_15.*,
        {{ money(lcr_adjustment_40_cap('lcr_cap_15.adjusted_level1', 'lcr_cap_15.adjusted_level2a',
                                       'lcr_cap_15.adjusted_level2b', 'lcr_cap_15.adj_15_cap', 'lcr_cap_15.l2_cap')) }}
            as adj_40_cap
    from lcr_cap_15

),

lcr_capped as (

    select
        lcr_cap_40.*,
        {{ money('lcr_cap_40.hqla_level1 + lcr_cap_40.hqla_level2a + lcr_cap_40.hqla_level2b
            - lcr_cap_40.adj_15_cap - lcr_cap_40.adj_40_cap') }} as hqla,
        {{ money('least(lcr_cap_40.total_inflows, ' ~ money('lcr_cap_40.inflow_cap * lcr_cap_40.total_outflows') ~ ')') }}
            as capped_inflows
    from lcr_cap_40

),

lcr_computed as (

    -- The ratio is the quotient of two amounts rounded HALF_UP to 6 decimals, published as a double.
    select
        lcr_capped.*,
        {{ money('lcr_capped.total_outflows - lcr_capped.capped_inflows') }} as net_cash_outflows,
        cast(round(lcr_capped.hqla / nullif(lcr_capped.total_outflows - lcr_capped.capped_inflows, 0), 6)
            as {{ type_double() }}) as lcr
    from lcr_capped

)
{%- endmacro %}
