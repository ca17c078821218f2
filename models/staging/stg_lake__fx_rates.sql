with source as (

    select * from {{ source('lake', 'fx_rates') }}

),

final as (

    select
        source.currency,
        cast(source.as_of_date as date) as as_of_date,
        source.rate_to_usd
    from source

)

select * from final
