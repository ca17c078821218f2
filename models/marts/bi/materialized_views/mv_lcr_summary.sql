-- The LCR summary for BI: per scenario, as-of date, entity and LCR category, the totals of the
-- category fact with the star's keys, and whether any adjustment rule touched them (a deal rule on
-- one of its deals, or a rule at the category point). A materialized view on Redshift, a table on Spark (dbt_project.yml).
with categories as (

    select * from {{ ref('fct_lcr_category') }}

),

final as (

    select
        categories.date_key,
        categories.entity_key,
        categories.scenario,
        categories.as_of_date,
        categories.entity_id,
        categories.category_code,
        categories.reporting_currency,
        categories.lcr_section,
        categories.hqla_level,
        categories.deal_count,
        categories.adjusted_deal_count,
        categories.amount_reporting_ccy,
        categories.weighted_amount,
        categories.adjusted_deal_count > 0 or categories.is_adjusted as has_adjustments
    from categories

)

select * from final
