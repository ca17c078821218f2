-- Deal-level liquidity fact: one row per deal and as-of date with its LCR contribution.
{{ config(materialized='view') }}
-- A view: the rows are already materialized once in int_deal_liquidity; a second 10M-row copy
-- would only cost time and space.
with deals as (

    select * from {{ ref('int_deal_liquidity') }}

),

final as (

    select * from deals

)

select * from final
