-- A parameter set overrides run-off (param_outflow_rates) and inflow (param_inflow_rates) rates only:
-- an override of any other category (an HQLA haircut, an excluded category) or of a category that no
-- parameter seed has is a row here (dim_product lists the seeds' categories with their section).
with overrides as (

    select * from {{ ref('param_rate_overrides') }}

),

parameter_categories as (

    select * from {{ ref('dim_product') }}

),

flow_categories as (

    select distinct parameter_categories.category_code
    from parameter_categories
    where parameter_categories.lcr_section in ('outflow', 'inflow')

),

final as (

    select
        overrides.parameter_set,
        overrides.category_code
    from overrides
    left join flow_categories
        on overrides.category_code = flow_categories.category_code
    where flow_categories.category_code is null

)

select * from final
