with source as (

    select * from {{ source('lake', 'entities') }}

),

final as (

    select
        source.entity_id,
        cast(source.as_of_date as date) as as_of_date,
        source.entity_name,
        source.country,
        source.reporting_currency
    from source

)

select * from final
