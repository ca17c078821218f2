-- Each deal's parameter sits in the column of its section and only there, and weight is the factor it
-- gives (issue 12 item 9: these columns replace one `rate` of three meanings): haircut on hqla rows
-- (weight 1 - haircut), run_off_rate on outflow rows and inflow_rate on inflow rows (weight the rate,
-- a national override included), none on excluded rows (weight 0). Checked where the deals arrive at
-- the deal point, before any rule (a rule may set one of these columns alone; the audit records it).
with deals as (

    select * from {{ ref('int_deal_liquidity') }}

),

with_factor as (

    select
        deals.as_of_date,
        deals.deal_id,
        deals.lcr_section,
        deals.haircut,
        deals.run_off_rate,
        deals.inflow_rate,
        deals.weight,
        case
            when deals.lcr_section = 'hqla' then 1 - deals.haircut
            when deals.lcr_section = 'outflow' then deals.run_off_rate
            when deals.lcr_section = 'inflow' then deals.inflow_rate
            else 0
        end as factor_of_section
    from deals

),

final as (

    select * from with_factor
    where
        (haircut is not null) <> (lcr_section = 'hqla')
        or (run_off_rate is not null) <> (lcr_section = 'outflow')
        or (inflow_rate is not null) <> (lcr_section = 'inflow')
        or weight <> factor_of_section

)

select * from final
