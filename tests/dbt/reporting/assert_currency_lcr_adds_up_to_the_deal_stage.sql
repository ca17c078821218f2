-- fct_lcr_currency splits the deal-point components by currency: summed over the currencies they equal the
-- `deal` stage of rpt_lcr_adjustment_waterfall to the last digit (money is exact). Returns the differing keys.
{%- set columns = ['hqla_level1', 'hqla_level2a', 'hqla_level2b', 'unwind_level1', 'unwind_level2a',
                   'unwind_level2b', 'total_outflows', 'total_inflows'] %}
{%- set sums = [] %}
{%- for column in columns %}
{%- do sums.append('sum(fct_lcr_currency.' ~ column ~ ') as ' ~ column) %}
{%- endfor %}
with by_currency as (

    select
        fct_lcr_currency.scenario,
        fct_lcr_currency.as_of_date,
        fct_lcr_currency.entity_id,
        {{ sums | join(',\n        ') }}
    from {{ ref('fct_lcr_currency') }} as fct_lcr_currency
    group by fct_lcr_currency.scenario, fct_lcr_currency.as_of_date, fct_lcr_currency.entity_id

),

deal_stage as (

    select * from {{ ref('rpt_lcr_adjustment_waterfall') }}
    where stage = 'deal'

)

select
    coalesce(by_currency.scenario, deal_stage.scenario) as scenario,
    coalesce(by_currency.as_of_date, deal_stage.as_of_date) as as_of_date,
    coalesce(by_currency.entity_id, deal_stage.entity_id) as entity_id
from by_currency
full outer join deal_stage
    on by_currency.scenario = deal_stage.scenario
    and by_currency.as_of_date = deal_stage.as_of_date
    and by_currency.entity_id = deal_stage.entity_id
where
    by_currency.scenario is null
    or deal_stage.scenario is null
    {%- for column in columns %}
    or by_currency.{{ column }} <> deal_stage.{{ column }}
    {%- endfor %}
