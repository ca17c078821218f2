-- Every category of the parameter seeds has a row in liq1_category_rows (its LIQ1 row, or blank with
-- the reason it is not in LIQ1), and every category a deal was classified into too: a category added
-- to a seed without a LIQ1 mapping is a row here.
with haircuts as (

    select * from {{ ref('param_hqla_haircuts') }}

),

outflow_rates as (

    select * from {{ ref('param_outflow_rates') }}

),

inflow_rates as (

    select * from {{ ref('param_inflow_rates') }}

),

excluded as (

    select * from {{ ref('param_excluded_categories') }}

),

deals as (

    select * from {{ ref('int_lcr_category_totals__adjusted') }}

),

category_rows as (

    select * from {{ ref('liq1_category_rows') }}

),

categories as (

    select haircuts.category_code, 'param_hqla_haircuts' as found_in from haircuts
    union all
    select outflow_rates.category_code, 'param_outflow_rates' as found_in from outflow_rates
    union all
    select inflow_rates.category_code, 'param_inflow_rates' as found_in from inflow_rates
    union all
    select excluded.category_code, 'param_excluded_categories' as found_in from excluded
    union all
    select distinct deals.category_code, 'int_lcr_category_totals__adjusted' as found_in from deals

),

final as (

    select categories.category_code, categories.found_in
    from categories
    left join category_rows
        on categories.category_code = category_rows.category_code
    where category_rows.category_code is null

)

select * from final
