-- Valid deal rows of the lake, typed and named for the models above. Rejected rows go to
-- stg_lake__deal_rejects; together they account for every row the jobs wrote.
with source as (

    select * from {{ source('lake', 'deal_liquidity') }}

),

final as (

    select
        source.run_id,
        source.deal_id,
        cast(source.as_of_date as date) as as_of_date,
        source.entity_id,
        source.counterparty_id,
        source.counterparty_type,
        source.product_type,
        source.currency,
        source.amount,
        source.maturity_date,
        source.residual_maturity_days,
        source.maturity_bucket,
        source.hqla_class,
        source.is_insured,
        source.is_stable_relationship,
        source.is_operational,
        source.is_encumbered,
        source.is_domestic,
        source.collateral_market_value,
        source.reporting_currency,
        source.fx_rate,
        source.amount_reporting_ccy,
        source.collateral_value_reporting_ccy,
        source.classification_rule,
        source.category_code,
        source.lcr_section,
        source.hqla_level,
        source.haircut,
        source.run_off_rate,
        source.inflow_rate,
        source.weight,
        source.weighted_amount,
        source.unwind_level1,
        source.unwind_level2a,
        source.unwind_level2b,
        source.parameter_table,
        source.bcbs_paragraph
    from source
    where source.reject_reason is null

)

select * from final
