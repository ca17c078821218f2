-- Every row the jobs wrote is either a valid deal in int_deal_liquidity (and counted in the base
-- scenario of fct_lcr) or a reject: per as-of date, lake rows = deal rows + rejects, and
-- deal rows = fct_lcr deal_count.
with lake as (

    select
        as_of_date,
        count(*) as lake_rows
    from {{ recalc_test_relation(source('lake', 'deal_liquidity')) }}
    group by as_of_date

),

deals as (

    select
        as_of_date,
        count(*) as deal_rows
    from {{ recalc_test_relation(ref('int_deal_liquidity')) }}
    group by as_of_date

),

rejects as (

    select
        as_of_date,
        count(*) as reject_rows
    from {{ recalc_test_relation(ref('stg_lake__deal_rejects')) }}
    group by as_of_date

),

lcr as (

    select
        as_of_date,
        sum(deal_count) as lcr_deals
    from {{ recalc_test_relation(ref('fct_lcr')) }}
    where scenario = 'base'
    group by as_of_date

),

compared as (

    select
        lake.as_of_date,
        lake.lake_rows,
        coalesce(deals.deal_rows, 0) as deal_rows,
        coalesce(rejects.reject_rows, 0) as reject_rows,
        coalesce(lcr.lcr_deals, 0) as lcr_deals
    from lake
    left join deals on lake.as_of_date = deals.as_of_date
    left join rejects on lake.as_of_date = rejects.as_of_date
    left join lcr on lake.as_of_date = lcr.as_of_date

)

select * from compared
where lake_rows != deal_rows + reject_rows or deal_rows != lcr_deals
