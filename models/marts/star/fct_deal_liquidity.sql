-- The published deal fact: one row per deal, as-of date and scenario with its LCR contribution after the
-- deal-level adjustments, its classification lineage, the rules that changed it, and the keys of the
-- entity and counterparty versions valid on the as-of date, of the date and of the product.
{{ star_fact(
    source=ref('int_deal_liquidity__adjusted'),
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
    degenerate=['scenario', 'as_of_date', 'deal_id', 'entity_id', 'counterparty_id', 'product_type', 'currency',
                'reporting_currency', 'maturity_bucket', 'hqla_class', 'classification_rule', 'category_code',
                'lcr_section', 'hqla_level', 'parameter_set', 'parameter_table', 'bcbs_paragraph', 'is_adjusted',
                'adjustment_rule_ids', 'run_id'],
    measures=['amount', 'amount_reporting_ccy', 'haircut', 'run_off_rate', 'inflow_rate', 'weight',
              'weighted_amount', 'unwind_level1', 'unwind_level2a', 'unwind_level2b'],
) }}
