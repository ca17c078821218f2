-- The deal fact of the star: fct_deal_liquidity with the keys of its dimensions (the SCD2 versions
-- valid on the deal's as-of date).
{{ star_fact(
    source=ref('fct_deal_liquidity'),
    grain=['scenario', 'as_of_date', 'deal_id'],
    key='deal_row_key',
    date_column='as_of_date',
    dimensions=[
        {'dimension': ref('dim_entity'), 'key': 'entity_key', 'versioned': true, 'join_on': {'entity_id': 'entity_id'}},
        {'dimension': ref('dim_counterparty'), 'key': 'counterparty_key', 'versioned': true,
         'join_on': {'counterparty_id': 'counterparty_id'}},
        {'dimension': ref('dim_date'), 'key': 'date_key', 'join_on': {'as_of_date': 'date_day'}},
        {'dimension': ref('dim_product'), 'key': 'product_key',
         'join_on': {'product_type': 'product_type', 'category_code': 'category_code'}},
    ],
    degenerate=['scenario', 'as_of_date', 'deal_id', 'entity_id', 'counterparty_id', 'product_type', 'category_code',
                'currency', 'reporting_currency', 'maturity_bucket', 'is_adjusted', 'adjustment_rule_ids', 'run_id'],
    measures=['amount', 'amount_rep', 'weight', 'weighted_amount', 'unwind_level1', 'unwind_level2a',
              'unwind_level2b'],
) }}
