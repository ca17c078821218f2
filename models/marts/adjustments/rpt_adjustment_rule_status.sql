-- Every rule on every as-of date and scenario of the run: applied, or why not (unapproved,
-- self-approved, scenario not built, not yet effective, expired, matched no row), with the values
-- and amount it moved. A base rule is reported in every scenario built; a scenario rule in its own,
-- on every as-of date, even when that scenario was not built (only approved rules create one, and
-- var('scenarios') may leave one out): an unapproved stress rule must still show as unapproved.
with rules as (

    select * from {{ ref('dim_adjustment_rule') }}

),

audit as (

    select * from {{ ref('fct_adjustment_audit') }}

),

runs as (

    -- from the fct_lcr table, not the views below it: a cartesian product over a view holding a
    -- union fails to serialize on Spark 4 (ClassCastException on UnionExec.children)
    select distinct
        lcr.as_of_date,
        lcr.scenario
    from {{ ref('fct_lcr') }} as lcr

),

dates as (

    select distinct runs.as_of_date from runs

),

rule_runs as (

    select
        rules.rule_id,
        runs.as_of_date,
        runs.scenario
    from rules
    inner join runs on rules.scenario = 'base'
    union all
    select
        rules.rule_id,
        dates.as_of_date,
        rules.scenario
    from rules
    cross join dates
    where rules.scenario <> 'base'

),

moved as (

    select
        audit.rule_id,
        audit.as_of_date,
        audit.scenario,
        count(*) as changed_values,
        sum(audit.delta) as total_delta
    from audit
    group by audit.rule_id, audit.as_of_date, audit.scenario

),

final as (

    select
        rules.rule_id,
        rule_runs.as_of_date,
        rule_runs.scenario,
        rules.injection_point,
        rules.scenario as rule_scenario,
        case
            when rules.approval_status <> 'approved' then rules.approval_status
            when runs.scenario is null then 'scenario_not_built'
            when rule_runs.as_of_date < rules.effective_from then 'not_yet_effective'
            when rules.expiry is not null and rule_runs.as_of_date > rules.expiry then 'expired'
            when moved.changed_values is null then 'matched_no_rows'
            else 'applied'
        end as status,
        coalesce(moved.changed_values, 0) as changed_values,
        coalesce(moved.total_delta, 0) as total_delta
    from rule_runs
    inner join rules on rule_runs.rule_id = rules.rule_id
    left join runs
        on rule_runs.as_of_date = runs.as_of_date
        and rule_runs.scenario = runs.scenario
    left join moved
        on rule_runs.rule_id = moved.rule_id
        and rule_runs.as_of_date = moved.as_of_date
        and rule_runs.scenario = moved.scenario

)

select * from final
