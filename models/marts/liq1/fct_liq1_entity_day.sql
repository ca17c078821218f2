-- Template LIQ1 (Basel Framework DIS85) per scenario, entity and as-of date: the 23 rows, each with its
-- total unweighted value (balances within 30 days; market value for HQLA) and total weighted value
-- (after haircuts or run-off / inflow rates), in the entity's reporting currency. A category counts in
-- its row and in every row that row adds into (parent_row, up to two levels: 3 -> 2 -> 16). Rows 1, 16
-- and 20 equal fct_lcr's figures: what the lcr_components rules added beyond the categories is their
-- component_adjustment. Rows 21-23 are fct_lcr's HQLA after caps, net cash outflows and ratio.
with lcr as (

    select * from {{ ref('fct_lcr') }}

),

category_rows as (

    select * from {{ ref('int_liq1_category_rows') }}

),

template_rows as (

    select * from {{ ref('liq1_template_rows') }}

),

row_ancestors as (

    -- each row, and every row its values add into
    select
        template_rows.liq1_row,
        template_rows.liq1_row as counted_in
    from template_rows
    union all
    select
        template_rows.liq1_row,
        template_rows.parent_row as counted_in
    from template_rows
    where template_rows.parent_row is not null
    union all
    select
        template_rows.liq1_row,
        parents.parent_row as counted_in
    from template_rows
    inner join template_rows as parents
        on template_rows.parent_row = parents.liq1_row
    where parents.parent_row is not null

),

row_sums as (

    select
        category_rows.scenario,
        category_rows.as_of_date,
        category_rows.entity_id,
        row_ancestors.counted_in as liq1_row,
        {{ money('sum(category_rows.unweighted_amount)') }} as unweighted_value,
        {{ money('sum(category_rows.weighted_amount)') }} as category_weighted_value,
        sum(category_rows.deal_count) as deal_count,
        sum(case when category_rows.rate_override_reference is not null then category_rows.deal_count else 0 end)
            as overridden_deal_count
    from category_rows
    inner join row_ancestors
        on category_rows.liq1_row = row_ancestors.liq1_row
    group by
        category_rows.scenario,
        category_rows.as_of_date,
        category_rows.entity_id,
        row_ancestors.counted_in

),

grid as (

    -- every template row for every LCR row: a row with no deal is reported as 0
    select
        lcr.scenario,
        lcr.entity_id,
        lcr.as_of_date,
        lcr.reporting_currency,
        lcr.parameter_set,
        lcr.run_id,
        template_rows.liq1_row,
        template_rows.parent_row,
        template_rows.section,
        template_rows.row_label,
        template_rows.unweighted_reported,
        template_rows.lcr_measure,
        case template_rows.lcr_measure
            when 'hqla_stock' then {{ money('lcr.hqla_level1 + lcr.hqla_level2a + lcr.hqla_level2b') }}
            when 'total_outflows' then lcr.total_outflows
            when 'total_inflows' then lcr.total_inflows
            when 'hqla' then lcr.hqla
            when 'net_cash_outflows' then lcr.net_cash_outflows
            when 'lcr' then cast(lcr.lcr as {{ type_money() }})
        end as lcr_value
    from lcr
    cross join template_rows

),

final as (

    select
        grid.scenario,
        grid.entity_id,
        grid.as_of_date,
        grid.reporting_currency,
        grid.parameter_set,
        grid.liq1_row,
        grid.parent_row,
        grid.section,
        grid.row_label,
        grid.unweighted_reported,
        case
            when grid.section = 'adjusted' then null
            else coalesce(row_sums.unweighted_value, 0)
        end as unweighted_value,
        case
            when grid.lcr_measure is null then coalesce(row_sums.category_weighted_value, 0)
            else grid.lcr_value
        end as weighted_value,
        case
            when grid.lcr_measure in ('hqla_stock', 'total_outflows', 'total_inflows')
                then {{ money('grid.lcr_value - coalesce(row_sums.category_weighted_value, 0)') }}
        end as component_adjustment,
        coalesce(row_sums.deal_count, 0) as deal_count,
        coalesce(row_sums.overridden_deal_count, 0) as overridden_deal_count,
        grid.run_id
    from grid
    left join row_sums
        on grid.scenario = row_sums.scenario
        and grid.as_of_date = row_sums.as_of_date
        and grid.entity_id = row_sums.entity_id
        and grid.liq1_row = row_sums.liq1_row

)

select * from final
