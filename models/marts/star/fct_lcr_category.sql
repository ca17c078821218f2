-- The published category fact: per scenario, as-of date, entity and LCR category, the adjusted totals
-- (int_lcr_category_totals__adjusted, after the rules of the entity_category point) with the keys of the
-- entity version valid on the as-of date and of the date. The BI summaries, `regcalc report` and
-- `regcalc movement` read it.
{{ star_fact(
    source=ref('int_lcr_category_totals__adjusted'),
    grain=['scenario', 'as_of_date', 'entity_id', 'category_code'],
    key='category_row_key',
    date_column='as_of_date',
    dimensions=[
        {'dimension': ref('dim_entity'), 'key': 'entity_key', 'versioned': true, 'join_on': {'entity_id': 'entity_id'}},
        {'dimension': ref('dim_date'), 'key': 'date_key', 'join_on': {'as_of_date': 'date_day'}},
    ],
    degenerate=['scenario', 'as_of_date', 'entity_id', 'category_code', 'reporting_currency', 'lcr_section',
                'hqla_level', 'parameter_set', 'is_adjusted', 'adjustment_rule_ids', 'run_id'],
    measures=['amount_reporting_ccy', 'weighted_amount', 'unwind_level1', 'unwind_level2a', 'unwind_level2b', 'deal_count',
              'adjusted_deal_count'],
) }}
