-- Every (product type, LCR category) pair a deal can carry, with the category's parameter row: the
-- source of dim_product. Every pair, not only those the classification rules produce: an adjustment
-- rule may reclassify a deal (override category_code) into any category. Product types are those of
-- the input contract (contract.PRODUCT_TYPES).
{%- set product_types = ['cash', 'central_bank_reserve', 'security', 'deposit', 'loan', 'repo', 'reverse_repo',
                         'credit_facility', 'liquidity_facility', 'derivative_payable', 'derivative_receivable',
                         'debt_issued', 'other_contractual_outflow', 'trade_finance', 'guarantee', 'derivative_net'] %}
with hqla_haircuts as (

    select * from {{ ref('param_hqla_haircuts') }}

),

outflow_rates as (

    select * from {{ ref('param_outflow_rates') }}

),

inflow_rates as (

    select * from {{ ref('param_inflow_rates') }}

),

excluded_categories as (

    select * from {{ ref('param_excluded_categories') }}

),

product_types as (

    {%- for product_type in product_types %}
    select {{ string_literal(product_type) }} as product_type
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}

),

categories as (

    select
        hqla_haircuts.category_code,
        'hqla' as lcr_section,
        hqla_haircuts.hqla_level,
        cast(hqla_haircuts.haircut as {{ type_rate() }}) as rate,
        hqla_haircuts.bcbs_paragraph
    from hqla_haircuts
    union all
    select
        outflow_rates.category_code,
        'outflow' as lcr_section,
        cast(null as {{ dbt.type_string() }}) as hqla_level,
        cast(outflow_rates.run_off_rate as {{ type_rate() }}) as rate,
        outflow_rates.bcbs_paragraph
    from outflow_rates
    union all
    select
        inflow_rates.category_code,
        'inflow' as lcr_section,
        cast(null as {{ dbt.type_string() }}) as hqla_level,
        cast(inflow_rates.inflow_rate as {{ type_rate() }}) as rate,
        inflow_rates.bcbs_paragraph
    from inflow_rates
    union all
    select
        excluded_categories.category_code,
        'excluded' as lcr_section,
        cast(null as {{ dbt.type_string() }}) as hqla_level,
        cast(null as {{ type_rate() }}) as rate,
        excluded_categories.bcbs_paragraph
    from excluded_categories

),

final as (

    select
        product_types.product_type,
        categories.category_code,
        categories.lcr_section,
        categories.hqla_level,
        categories.rate,
        categories.bcbs_paragraph
    from product_types
    cross join categories

)

select * from final
