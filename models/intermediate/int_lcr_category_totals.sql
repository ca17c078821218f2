-- Per entity, as-of date, scenario and LCR category: the adjusted deal-level amounts summed (exact:
-- sums of money, typed as money on every target).
with deals as (

    select * from {{ ref('int_deal_liquidity__adjusted') }}

),

final as (

    select
        deals.scenario,
        deals.as_of_date,
        deals.entity_id,
        deals.category_code,
        deals.reporting_currency,
        deals.lcr_section,
        deals.hqla_level,
        {{ money('sum(deals.amount_reporting_ccy)') }} as amount_reporting_ccy,
        {{ money('sum(deals.weighted_amount)') }} as weighted_amount,
        {{ money('sum(deals.unwind_level1)') }} as unwind_level1,
        {{ money('sum(deals.unwind_level2a)') }} as unwind_level2a,
        {{ money('sum(deals.unwind_level2b)') }} as unwind_level2b,
        count(*) as deal_count,
        sum(case when deals.is_adjusted then 1 else 0 end) as adjusted_deal_count,
        deals.parameter_set,
        -- one run publishes a whole as-of date, so every deal of the group has the same run_id
        max(deals.run_id) as run_id
    from deals
    group by
        deals.scenario,
        deals.as_of_date,
        deals.entity_id,
        deals.category_code,
        deals.reporting_currency,
        deals.lcr_section,
        deals.hqla_level,
        deals.parameter_set

)

select * from final
