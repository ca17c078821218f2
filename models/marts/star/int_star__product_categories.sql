-- Every (product type, LCR category) pair a deal can carry, with the category's parameter row: the
-- source of dim_product. Every pair, not only those the classification rules produce: an adjustment
-- rule may reclassify a deal (override category_code) into any category. Product types are those of
-- the input contract, declared once as the accepted values of stg_lake__deal_liquidity.product_type.
-- depends_on: {{ ref('stg_lake__deal_liquidity') }}
{%- set product_types = accepted_values_of('stg_lake__deal_liquidity', 'product_type') %}
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
        cast(hqla_haircuts.haircut as {{ type_rate() }}) as haircut,
        cast(null as {{ type_rate() }}) as run_off_rate,
        cast(null as {{ type_rate() }}) as inflow_rate,
        hqla_haircuts.bcbs_paragraph
    from hqla_haircuts
    union all
    select
        outflow_rates.category_code,
        'outflow' as lcr_section,
        cast(null as {{ dbt.type_string() }}) as hqla_level,
        cast(null as {{ type_rate() }}) as haircut,
        cast(outflow_rates.run_off_rate as {{ type_rate() }}) as run_off_rate,
        cast(null as {{ type_rate() }}) as inflow_rate,
        outflow_rates.bcbs_paragraph
    from outflow_rates
    union all
    select
        inflow_rates.category_code,
        'inflow' as lcr_section,
        cast(null as {{ dbt.type_string() }}) as hqla_level,
        cast(null as {{ type_rate() }}) as haircut,
        cast(null as {{ type_rate() }}) as run_off_rate,
        cast(inflow_rates.inflow_rate as {{ type_rate() }}) as inflow_rate,
        inflow_rates.bcbs_paragraph
    from inflow_rates
    union all
    select
        excluded_categories.category_code,
        'excluded' as lcr_section,
        cast(null as {{ dbt.type_string() }}) as hqla_level,
        cast(null as {{ type_rate() }}) as haircut,
        cast(null as {{ type_rate() }}) as run_off_rate,
        cast(null as {{ type_rate() }}) as inflow_rate,
        excluded_categories.bcbs_paragraph
    from excluded_categories

),

final as (

    select
        product_types.product_type,
        categories.category_code,
        categories.lcr_section,
        categories.hqla_level,
        categories.haircut,
        categories.run_off_rate,
        categories.inflow_rate,
        categories.bcbs_paragraph
    from product_types
    cross join categories

)

select * from final
