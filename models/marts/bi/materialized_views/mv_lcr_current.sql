-- The "current" LCR for dashboards: every scenario's entity-day LCR of the last 90 days up to the
-- latest as-of date in the data (not the wall clock: a materialized view must be deterministic, and
-- a late run must not empty the dashboard). A materialized view on Redshift, a table on Spark.
with lcr as (

    select * from {{ ref('fct_lcr') }}

),

latest as (

    select max(lcr.as_of_date) as latest_as_of_date
    from lcr

),

final as (

    select
        lcr.date_key,
        lcr.entity_key,
        lcr.scenario,
        lcr.as_of_date,
        lcr.entity_id,
        lcr.reporting_currency,
        lcr.hqla,
        lcr.total_outflows,
        lcr.capped_inflows,
        lcr.net_cash_outflows,
        lcr.lcr,
        lcr.adjusted_deal_count,
        latest.latest_as_of_date
    from lcr
    cross join latest
    where lcr.as_of_date > {{ dbt.dateadd('day', -var('bi_current_days'), 'latest.latest_as_of_date') }}

)

select * from final
