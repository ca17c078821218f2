-- Each LIQ1 row that categories report in directly (no row adds into it) equals the deals of
-- fct_deal_liquidity whose category liq1_category_rows maps to it: unweighted = sum of amount_reporting_ccy,
-- weighted = sum of weighted_amount, plus what rules of the entity_category point changed in those
-- categories (fct_adjustment_audit deltas). Exact: tolerance 0. A row here is a difference.
with daily as (

    select * from {{ recalc_test_relation(ref('fct_liq1_entity_day')) }}

),

deals as (

    select * from {{ recalc_test_relation(ref('fct_deal_liquidity')) }}

),

category_rows as (

    select * from {{ ref('liq1_category_rows') }}

),

template_rows as (

    select * from {{ ref('liq1_template_rows') }}

),

audit as (

    select * from {{ recalc_test_relation(ref('fct_adjustment_audit')) }}
    where injection_point = 'entity_category'

),

leaf_rows as (

    select template_rows.liq1_row
    from template_rows
    where
        template_rows.lcr_measure is null
        and not exists (
            select 1 from template_rows as children
            where children.parent_row = template_rows.liq1_row
        )

),

deal_sums as (

    select
        deals.scenario,
        deals.as_of_date,
        deals.entity_id,
        category_rows.liq1_row,
        sum(deals.amount_reporting_ccy) as unweighted_value,
        sum(deals.weighted_amount) as weighted_value
    from deals
    inner join category_rows
        on deals.category_code = category_rows.category_code
    group by deals.scenario, deals.as_of_date, deals.entity_id, category_rows.liq1_row

),

category_keys as (

    select distinct
        deals.entity_id,
        deals.category_code,
        {{ dbt.concat(['deals.entity_id', "'|'", 'deals.category_code']) }} as row_key
    from deals

),

audit_sums as (

    -- the entity_category point's row key is entity_id|category_code
    select
        audit.scenario,
        audit.as_of_date,
        category_keys.entity_id,
        category_rows.liq1_row,
        sum(case when audit.field = 'amount_reporting_ccy' then audit.delta else 0 end) as unweighted_delta,
        sum(case when audit.field = 'weighted_amount' then audit.delta else 0 end) as weighted_delta
    from audit
    inner join category_keys
        on audit.row_key = category_keys.row_key
    inner join category_rows
        on category_keys.category_code = category_rows.category_code
    group by audit.scenario, audit.as_of_date, category_keys.entity_id, category_rows.liq1_row

),

final as (

    select
        daily.scenario,
        daily.as_of_date,
        daily.entity_id,
        daily.liq1_row,
        daily.unweighted_value,
        coalesce(deal_sums.unweighted_value, 0) + coalesce(audit_sums.unweighted_delta, 0) as expected_unweighted,
        daily.weighted_value,
        coalesce(deal_sums.weighted_value, 0) + coalesce(audit_sums.weighted_delta, 0) as expected_weighted
    from daily
    inner join leaf_rows
        on daily.liq1_row = leaf_rows.liq1_row
    left join deal_sums
        on daily.scenario = deal_sums.scenario
        and daily.as_of_date = deal_sums.as_of_date
        and daily.entity_id = deal_sums.entity_id
        and daily.liq1_row = deal_sums.liq1_row
    left join audit_sums
        on daily.scenario = audit_sums.scenario
        and daily.as_of_date = audit_sums.as_of_date
        and daily.entity_id = audit_sums.entity_id
        and daily.liq1_row = audit_sums.liq1_row

)

select * from final
where
    unweighted_value <> expected_unweighted
    or weighted_value <> expected_weighted
