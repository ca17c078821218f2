-- The star facts carry every row and amount of the marts they come from: fct_lcr_entity_day sums
-- equal fct_lcr, and fct_liquidity_deal has the rows and weighted amounts of fct_deal_liquidity,
-- per scenario and as-of date. Returns the (scenario, as_of_date) that differ.
with lcr as (

    select * from {{ ref('fct_lcr') }}

),

lcr_star as (

    select * from {{ ref('fct_lcr_entity_day') }}

),

deals as (

    select * from {{ ref('fct_deal_liquidity') }}

),

deals_star as (

    select * from {{ ref('fct_liquidity_deal') }}

),

lcr_totals as (

    select
        lcr.scenario,
        lcr.as_of_date,
        count(*) as row_count,
        sum(lcr.hqla) as hqla,
        sum(lcr.total_outflows) as total_outflows,
        sum(lcr.total_inflows) as total_inflows,
        sum(lcr.net_cash_outflows) as net_cash_outflows
    from lcr
    group by lcr.scenario, lcr.as_of_date

),

lcr_star_totals as (

    select
        lcr_star.scenario,
        lcr_star.as_of_date,
        count(*) as row_count,
        sum(lcr_star.hqla) as hqla,
        sum(lcr_star.total_outflows) as total_outflows,
        sum(lcr_star.total_inflows) as total_inflows,
        sum(lcr_star.net_cash_outflows) as net_cash_outflows
    from lcr_star
    group by lcr_star.scenario, lcr_star.as_of_date

),

deal_totals as (

    select deals.scenario, deals.as_of_date, count(*) as row_count, sum(deals.weighted_amount) as weighted_amount
    from deals
    group by deals.scenario, deals.as_of_date

),

deal_star_totals as (

    select
        deals_star.scenario,
        deals_star.as_of_date,
        count(*) as row_count,
        sum(deals_star.weighted_amount) as weighted_amount
    from deals_star
    group by deals_star.scenario, deals_star.as_of_date

),

final as (

    select lcr_totals.scenario, lcr_totals.as_of_date, 'fct_lcr_entity_day' as model
    from lcr_totals
    full outer join lcr_star_totals
        on lcr_totals.scenario = lcr_star_totals.scenario and lcr_totals.as_of_date = lcr_star_totals.as_of_date
    where lcr_totals.row_count is null
        or lcr_star_totals.row_count is null
        or lcr_totals.row_count <> lcr_star_totals.row_count
        or abs(lcr_totals.hqla - lcr_star_totals.hqla) > 0.01
        or abs(lcr_totals.total_outflows - lcr_star_totals.total_outflows) > 0.01
        or abs(lcr_totals.total_inflows - lcr_star_totals.total_inflows) > 0.01
        or abs(lcr_totals.net_cash_outflows - lcr_star_totals.net_cash_outflows) > 0.01
    union all
    select deal_totals.scenario, deal_totals.as_of_date, 'fct_liquidity_deal' as model
    from deal_totals
    full outer join deal_star_totals
        on deal_totals.scenario = deal_star_totals.scenario and deal_totals.as_of_date = deal_star_totals.as_of_date
    where deal_totals.row_count is null
        or deal_star_totals.row_count is null
        or deal_totals.row_count <> deal_star_totals.row_count
        or abs(deal_totals.weighted_amount - deal_star_totals.weighted_amount) > 0.01

)

select * from final
