-- Every category of the parameter seeds (dim_product lists each of them, per product type) has a row in
-- liq1_category_rows (its LIQ1 row, or blank with the reason it is not in LIQ1), and every category a
-- deal was classified into too: a category added to a seed without a LIQ1 mapping is a row here.
with parameter_categories as (

    select * from {{ ref('dim_product') }}

),

deal_categories as (

    select * from {{ recalc_test_relation(ref('int_lcr_category_totals__adjusted')) }}

),

category_rows as (

    select * from {{ ref('liq1_category_rows') }}

),

categories as (

    select distinct
        parameter_categories.category_code,
        'parameter seeds' as found_in
    from parameter_categories
    union all
    select distinct
        deal_categories.category_code,
        'int_lcr_category_totals__adjusted' as found_in
    from deal_categories

),

final as (

    select
        categories.category_code,
        categories.found_in
    from categories
    left join category_rows
        on categories.category_code = category_rows.category_code
    where category_rows.category_code is null

)

select * from final
