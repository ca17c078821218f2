-- The LCR fact of the star: fct_lcr with the keys of its dimensions (the entity's version valid on
-- the as-of date).
{{ star_fact(
    source=ref('fct_lcr'),
    grain=['scenario', 'as_of_date', 'entity_id'],
    key='lcr_row_key',
    date_column='as_of_date',
    dimensions=[
        {'dimension': ref('dim_entity'), 'key': 'entity_key', 'versioned': true, 'join_on': {'entity_id': 'entity_id'}},
        {'dimension': ref('dim_date'), 'key': 'date_key', 'join_on': {'as_of_date': 'date_day'}},
    ],
    degenerate=['scenario', 'as_of_date', 'entity_id', 'reporting_currency', 'l2b_cap_binds', 'l2_cap_binds',
                'inflow_cap_binds', 'run_id'],
    measures=['hqla_level1', 'hqla_level2a', 'hqla_level2b', 'adj_15_cap', 'adj_40_cap', 'hqla', 'total_outflows',
              'total_inflows', 'capped_inflows', 'net_cash_outflows', 'lcr', 'deal_count', 'adjusted_deal_count'],
) }}
