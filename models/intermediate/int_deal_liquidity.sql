-- The deal-level rows as they arrive at the deal adjustment point. A view: the rows are already
-- materialized once, in the lake, with their lineage (rule, parameter row, BCBS paragraph).
with deals as (

    select * from {{ ref('stg_lake__deal_liquidity') }}

),

final as (

    select
        deals.as_of_date,
        deals.deal_id,
        deals.entity_id,
        deals.counterparty_id,
        deals.counterparty_type,
        deals.product_type,
        deals.currency,
        deals.reporting_currency,
        deals.maturity_bucket,
        deals.residual_maturity_days,
        deals.hqla_class,
        deals.is_insured,
        deals.is_stable_relationship,
        deals.is_operational,
        deals.is_encumbered,
        deals.is_domestic,
        deals.classification_rule,
        deals.category_code,
        deals.lcr_section,
        deals.hqla_level,
        deals.parameter_table,
        deals.bcbs_paragraph,
        deals.amount,
        deals.fx_rate,
        deals.amount_rep,
        deals.collateral_value_rep,
        deals.rate,
        deals.weight,
        deals.weighted_amount,
        deals.unwind_level1,
        deals.unwind_level2a,
        deals.unwind_level2b,
        deals.run_id
    from deals

)

select * from final
