-- Every deal fact row points at the entity and counterparty versions valid on its as-of date
-- (and at the date row of that date). Returns the rows that do not.
with facts as (

    select * from {{ recalc_test_relation(ref('fct_deal_liquidity')) }}

),

entities as (

    select * from {{ ref('dim_entity') }}

),

counterparties as (

    select * from {{ ref('dim_counterparty') }}

),

dates as (

    select * from {{ ref('dim_date') }}

),

final as (

    select
        facts.deal_row_key,
        facts.as_of_date
    from facts
    left join entities on facts.entity_key = entities.entity_key
    left join counterparties on facts.counterparty_key = counterparties.counterparty_key
    left join dates on facts.date_key = dates.date_key
    where
        entities.entity_key is null
        or facts.as_of_date < entities.valid_from
        or facts.as_of_date > entities.valid_to
        or facts.entity_id <> entities.entity_id
        or (
            facts.counterparty_id is not null
            and (
                counterparties.counterparty_key is null
                or facts.as_of_date < counterparties.valid_from
                or facts.as_of_date > counterparties.valid_to
                or facts.counterparty_id <> counterparties.counterparty_id
            )
        )
        or dates.date_day is null
        or dates.date_day <> facts.as_of_date

)

select * from final
