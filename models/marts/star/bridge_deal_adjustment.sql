-- One row per deal fact row and adjustment rule that changed it (its adjustment_rule_ids list).
{{ star_bridge(
    source=ref('fct_liquidity_deal'),
    fact_key='deal_row_key',
    list_column='adjustment_rule_ids',
    separator=',',
    dimension=ref('dim_adjustment'),
    dimension_column='rule_id',
    dimension_key='adjustment_key',
) }}
