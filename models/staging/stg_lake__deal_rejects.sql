-- Deals the jobs could not use, with the reason and the values as sent. Kept and counted, never dropped.
with source as (

    select * from {{ source('lake', 'deal_liquidity') }}

),

final as (

    select
        source.run_id,
        source.deal_id,
        cast(source.as_of_date as date) as as_of_date,
        source.entity_id,
        source.product_type,
        source.reject_reason,
        source.reject_detail,
        source.source_file,
        source.raw_record
    from source
    where source.reject_reason is not null

)

select * from final
