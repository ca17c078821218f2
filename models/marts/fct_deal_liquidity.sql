{{ config(materialized='view') }}

-- Deal-level liquidity fact: one row per deal, as-of date and scenario, with its LCR contribution
-- after adjustments and the rules that changed it.
with deals as (

    select * from {{ ref('int_deal_liquidity__adjusted') }}

),

final as (

    select
        deals.scenario,
        deals.as_of_date,
        deals.deal_id,
        deals.entity_id,
        deals.counterparty_id,
        deals.product_type,
        deals.currency,
        deals.reporting_currency,
        deals.maturity_bucket,
        deals.hqla_class,
        deals.classification_rule,
        deals.category_code,
        deals.lcr_section,
        deals.hqla_level,
        deals.parameter_set,
        deals.parameter_table,
        deals.bcbs_paragraph,
        deals.amount,
        deals.amount_rep,
        deals.rate,
        deals.weight,
        deals.weighted_amount,
        deals.unwind_level1,
        deals.unwind_level2a,
        deals.unwind_level2b,
        deals.is_adjusted,
        deals.adjustment_rule_ids,
        deals.run_id
    from deals

)

select * from final
