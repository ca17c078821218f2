-- The reported (base scenario) amounts per as-of date and LCR category across entities. Amounts are
-- in each entity's reporting currency, so they add up per reporting currency only: it is part of
-- the grain.
with categories as (

    select * from {{ ref('fct_lcr_category') }}

),

final as (

    select
        categories.date_key,
        categories.as_of_date,
        categories.category_code,
        categories.reporting_currency,
        categories.lcr_section,
        categories.hqla_level,
        count(*) as entity_count,
        sum(categories.deal_count) as deal_count,
        sum(categories.adjusted_deal_count) as adjusted_deal_count,
        {{ money('sum(categories.amount_reporting_ccy)') }} as amount_reporting_ccy,
        {{ money('sum(categories.weighted_amount)') }} as weighted_amount
    from categories
    where categories.scenario = 'base'
    group by
        categories.date_key,
        categories.as_of_date,
        categories.category_code,
        categories.reporting_currency,
        categories.lcr_section,
        categories.hqla_level

)

select * from final
