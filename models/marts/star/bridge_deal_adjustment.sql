-- One row per deal fact row and adjustment rule that changed it (its adjustment_rule_ids list).
-- The sparksql grammar of sqlfluff does not parse `position(a in b)` (dbt.position), which Spark runs:
-- sqlfluff:ignore:parsing
{{ star_bridge(
    source=ref('fct_deal_liquidity'),
    fact_key='deal_row_key',
    list_column='adjustment_rule_ids',
    separator=',',
    dimension=ref('dim_adjustment_rule'),
    dimension_column='rule_id',
    dimension_key='adjustment_key',
) }}
