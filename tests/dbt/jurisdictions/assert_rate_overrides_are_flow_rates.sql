-- A parameter set overrides run-off (param_outflow_rates) and inflow (param_inflow_rates) rates only:
-- an override of any other category (an HQLA haircut, an excluded category) or of a category that no
-- parameter seed has is a row here.
with overrides as (

    select * from {{ ref('param_rate_overrides') }}

),

outflow_rates as (

    select * from {{ ref('param_outflow_rates') }}

),

inflow_rates as (

    select * from {{ ref('param_inflow_rates') }}

),

flow_categories as (

    select outflow_rates.category_code from outflow_rates
    union all
    select inflow_rates.category_code from inflow_rates

),

final as (

    select overrides.parameter_set, overrides.category_code
    from overrides
    left join flow_categories
        on overrides.category_code = flow_categories.category_code
    where flow_categories.category_code is null

)

select * from final
