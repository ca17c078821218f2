-- Lineage of template LIQ1: per scenario, as-of date, entity and LCR category (after the deal and
-- entity_category adjustment points), the LIQ1 row the category reports in (liq1_category_rows; null:
-- not in LIQ1), the entity's parameter set and, where that set overrides the category's rate, the
-- override row's national rule.
with categories as (

    select * from {{ ref('int_lcr_category_totals__adjusted') }}

),

category_rows as (

    select * from {{ ref('liq1_category_rows') }}

),

overrides as (

    select * from {{ ref('param_rate_overrides') }}

),

final as (

    select
        categories.scenario,
        categories.as_of_date,
        categories.entity_id,
        categories.reporting_currency,
        categories.category_code,
        categories.lcr_section,
        category_rows.liq1_row,
        category_rows.source as liq1_source,
        categories.parameter_set,
        overrides.national_reference as rate_override_reference,
        overrides.rate as override_rate,
        categories.amount_reporting_ccy as unweighted_amount,
        categories.weighted_amount,
        categories.deal_count,
        categories.run_id
    from categories
    left join category_rows
        on categories.category_code = category_rows.category_code
    left join overrides
        on categories.parameter_set = overrides.parameter_set
        and categories.category_code = overrides.category_code

)

select * from final
