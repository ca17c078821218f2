-- The published LCR fact: one row per scenario, entity and as-of date, the ratio and its components
-- as int_lcr computes them, with the keys of the entity version valid on the as-of date and of the date.
{{ star_fact(
    source=ref('int_lcr'),
    grain=['scenario', 'as_of_date', 'entity_id'],
    key='lcr_row_key',
    date_column='as_of_date',
    dimensions=[
        {'dimension': ref('dim_entity'), 'key': 'entity_key', 'versioned': true, 'join_on': {'entity_id': 'entity_id'}},
        {'dimension': ref('dim_date'), 'key': 'date_key', 'join_on': {'as_of_date': 'date_day'}},
    ],
    degenerate=['scenario', 'entity_id', 'as_of_date', 'reporting_currency', 'l2b_cap_binds', 'l2_cap_binds',
                'inflow_cap_binds', 'has_component_adjustments', 'component_adjustment_rule_ids', 'parameter_set',
                'run_id'],
    measures=['hqla_level1', 'hqla_level2a', 'hqla_level2b', 'adjusted_level1', 'adjusted_level2a', 'adjusted_level2b',
              'adj_15_cap', 'adj_40_cap', 'hqla', 'total_outflows', 'total_inflows', 'capped_inflows',
              'net_cash_outflows', 'lcr', 'deal_count', 'adjusted_deal_count'],
) }}
