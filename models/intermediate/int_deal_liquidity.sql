-- The deal-level rows as they arrive at the deal adjustment point. A view: the rows are already
-- materialized once, in the lake, with their lineage (rule, parameter row, BCBS paragraph).
-- The lake holds BCBS 238's rates (the base parameter set); here each deal takes its entity's
-- parameter set (param_entity_sets, the row '*' for any entity not listed) and a flow category that
-- set overrides (param_rate_overrides) takes the national rate as its run_off_rate or inflow_rate and
-- weight, with the override as its lineage.
with deals as (

    select * from {{ ref('stg_lake__deal_liquidity') }}

),

entity_sets as (

    select * from {{ ref('param_entity_sets') }}

),

overrides as (

    select * from {{ ref('param_rate_overrides') }}

),

with_set as (

    select
        deals.*,
        coalesce(chosen_set.parameter_set, default_set.parameter_set) as parameter_set
    from deals
    left join entity_sets as chosen_set
        on deals.entity_id = chosen_set.entity_id
    left join entity_sets as default_set
        on default_set.entity_id = '*'

),

with_rates as (

    -- Overrides change run-off and inflow rates only (test assert_rate_overrides_are_flow_rates), where
    -- the weight is the rate; HQLA haircuts and the unwind stay BCBS 238's.
    select
        with_set.*,
        overrides.rate as override_rate,
        overrides.bcbs_paragraph as override_bcbs_paragraph,
        overrides.national_reference as override_national_reference
    from with_set
    left join overrides
        on with_set.parameter_set = overrides.parameter_set
        and with_set.category_code = overrides.category_code
        and with_set.lcr_section in ('outflow', 'inflow')

),

final as (

    select
        with_rates.as_of_date,
        with_rates.deal_id,
        with_rates.entity_id,
        with_rates.counterparty_id,
        with_rates.counterparty_type,
        with_rates.product_type,
        with_rates.currency,
        with_rates.reporting_currency,
        with_rates.maturity_bucket,
        with_rates.residual_maturity_days,
        with_rates.hqla_class,
        with_rates.is_insured,
        with_rates.is_stable_relationship,
        with_rates.is_operational,
        with_rates.is_encumbered,
        with_rates.is_domestic,
        with_rates.classification_rule,
        with_rates.category_code,
        with_rates.lcr_section,
        with_rates.hqla_level,
        with_rates.parameter_set,
        case
            when with_rates.override_rate is null then with_rates.parameter_table
            else 'param_rate_overrides'
        end as parameter_table,
        case
            when with_rates.override_rate is null then with_rates.bcbs_paragraph
            else {{ dbt.concat(['with_rates.override_national_reference', "' ('",
                                'with_rates.override_bcbs_paragraph', "')'"]) }}
        end as bcbs_paragraph,
        with_rates.amount,
        with_rates.fx_rate,
        with_rates.amount_reporting_ccy,
        with_rates.collateral_value_reporting_ccy,
        with_rates.haircut,
        -- the override is the rate of the category's own section (it joined only flow sections)
        case
            when with_rates.lcr_section = 'outflow' then coalesce(with_rates.override_rate, with_rates.run_off_rate)
        end as run_off_rate,
        case
            when with_rates.lcr_section = 'inflow' then coalesce(with_rates.override_rate, with_rates.inflow_rate)
        end as inflow_rate,
        coalesce(with_rates.override_rate, with_rates.weight) as weight,
        case
            when with_rates.override_rate is null then with_rates.weighted_amount
            else {{ money('with_rates.amount_reporting_ccy * with_rates.override_rate') }}
        end as weighted_amount,
        with_rates.unwind_level1,
        with_rates.unwind_level2a,
        with_rates.unwind_level2b,
        with_rates.run_id
    from with_rates

)

select * from final
