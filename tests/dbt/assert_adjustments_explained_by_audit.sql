-- Every change an adjustment point made to a numeric field is in the audit: per point, scenario,
-- as-of date and field, sum(after) - sum(before) over the point's rows equals the sum of the
-- audit deltas (deltas of successive rules on the same value add up to the total change). Exactly
-- for a decimal field (money, rates); within 0.01 for a floating-point one, whose deltas the audit
-- rounds to the money scale.
-- depends_on: {{ ref('adjustment_rules') }}, {{ ref('adjustment_conditions') }}, {{ ref('adjustment_actions') }}
{% set rule_set = load_adjustment_rules() %}
{% set checks = adjustment_audit_checks(rule_set) %}
-- depends_on: {{ adjustment_point_refs(before=true) }}
with audit as (

    select
        injection_point,
        scenario,
        as_of_date,
        field,
        sum(delta) as audited_change
    from {{ recalc_test_relation(ref('fct_adjustment_audit')) }}
    group by injection_point, scenario, as_of_date, field

),

changes as (

    {% for check in checks %}
    select
        {{ regcalc.string_literal(check.point) }} as injection_point,
        after.scenario,
        after.as_of_date,
        {{ regcalc.string_literal(check.field) }} as field,
        after.total - coalesce(before.total, 0) as point_change,
        {{ check.tolerance }} as tolerance
    from (
        select scenario, as_of_date, sum({{ check.field }}) as total
        from {{ recalc_test_relation(ref(check.adjusted)) }}
        group by scenario, as_of_date
    ) as after
    left join (
        select {{ 'scenario' if check.has_scenario else "'any'" }} as scenario, as_of_date, sum({{ check.field }}) as total
        from {{ recalc_test_relation(ref(check.model)) }}
        group by {{ 'scenario, ' if check.has_scenario }}as_of_date
    ) as before
        on after.as_of_date = before.as_of_date
        {% if check.has_scenario %}and after.scenario = before.scenario{% endif %}
    {% if not loop.last %}union all{% endif %}
    {% else %}
    select
        cast(null as {{ dbt.type_string() }}) as injection_point,
        cast(null as {{ dbt.type_string() }}) as scenario,
        cast(null as date) as as_of_date,
        cast(null as {{ dbt.type_string() }}) as field,
        cast(null as {{ regcalc.type_double() }}) as point_change,
        0 as tolerance
    from audit
    where 1 = 0
    {% endfor %}

)

select
    changes.*,
    coalesce(audit.audited_change, 0) as audited_change
from changes
left join audit
    on changes.injection_point = audit.injection_point and changes.scenario = audit.scenario
    and changes.as_of_date = audit.as_of_date and changes.field = audit.field
where abs(changes.point_change - coalesce(audit.audited_change, 0)) > changes.tolerance
