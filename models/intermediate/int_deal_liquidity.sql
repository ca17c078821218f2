{{ config(materialized='table') }}

-- The deal-level rows, materialized before any aggregation so every reported number can be
-- traced to its deals (a table: lineage would otherwise be lost in the aggregates).
with deals as (

    select * from {{ ref('stg_lake__deal_liquidity') }}

),

final as (

    select
        deals.*,
        {{ dbt.concat(["deals.entity_id", "'|'", "deals.deal_id"]) }} as deal_key
    from deals

)

select * from final
