-- param_entity_sets needs exactly one row `*` (the set of every entity not listed): without it
-- int_deal_liquidity would give unlisted entities no parameter set.
select count(*) as default_rows
from {{ ref('param_entity_sets') }}
where entity_id = '*'
having count(*) <> 1
