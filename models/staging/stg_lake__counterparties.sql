with source as (

    select * from {{ source('lake', 'counterparties') }}

),

final as (

    select
        source.counterparty_id,
        cast(source.as_of_date as date) as as_of_date,
        source.counterparty_name,
        source.counterparty_type,
        source.country
    from source

)

select * from final
