-- Rules that did not change anything on an as-of date, and why (see rpt_adjustment_rule_status).
with status as (

    select * from {{ ref('rpt_adjustment_rule_status') }}

),

final as (

    select status.*
    from status
    where status.status <> 'applied'

)

select * from final
