-- One row per (rule, adjusted row, field, as-of date, scenario) where a rule changed a value:
-- the value before and after the rule and the delta, with the rule's metadata. The delta is money
-- (exact for the decimal fields: money, rates; a floating-point field's delta rounds to its scale).
-- depends_on: {{ ref('adjustment_rules') }}, {{ ref('adjustment_conditions') }}, {{ ref('adjustment_actions') }}
{% set rule_set = load_adjustment_rules() %}
{% set branches = adjustment_audit_branches(rule_set) %}
-- depends_on: {{ adjustment_point_refs() }}
with rules as (

    select * from {{ ref('dim_adjustment_rule') }}

),

changes as (

    {% for branch in branches %}
    select
        {{ regcalc.string_literal(branch.point) }} as injection_point,
        {{ regcalc.string_literal(branch.rule_id) }} as rule_id,
        adjusted.scenario,
        adjusted.as_of_date,
        {% set key_parts = [] %}
        {% for column in branch.key_columns %}
          {% do key_parts.append('cast(adjusted.' ~ column ~ ' as ' ~ dbt.type_string() ~ ')') %}
          {% if not loop.last %}{% do key_parts.append("'|'") %}{% endif %}
        {% endfor %}
        {{ dbt.concat(key_parts) if key_parts | length > 1 else key_parts[0] }} as row_key,
        {{ regcalc.string_literal(branch.field) }} as field,
        cast({{ branch.before }} as {{ dbt.type_string() }}) as value_before,
        cast({{ branch.after }} as {{ dbt.type_string() }}) as value_after,
        cast({{ branch.after ~ ' - ' ~ branch.before if branch.numeric else 'null' }} as {{ regcalc.type_money() }}) as delta
    from {{ ref(branch.model) }} as adjusted
    where adjusted.adj_{{ branch.n }}_hit
        and {{ recalc_dates_condition('adjusted.as_of_date') }}
        and (
            {{ branch.before }} <> {{ branch.after }}
            or ({{ branch.before }} is null and {{ branch.after }} is not null)
            or ({{ branch.before }} is not null and {{ branch.after }} is null)
        )
    {% if not loop.last %}union all{% endif %}
    {% else %}
    -- no approved rule: an empty audit with the right columns
    select
        cast(null as {{ dbt.type_string() }}) as injection_point,
        cast(null as {{ dbt.type_string() }}) as rule_id,
        cast(null as {{ dbt.type_string() }}) as scenario,
        cast(null as date) as as_of_date,
        cast(null as {{ dbt.type_string() }}) as row_key,
        cast(null as {{ dbt.type_string() }}) as field,
        cast(null as {{ dbt.type_string() }}) as value_before,
        cast(null as {{ dbt.type_string() }}) as value_after,
        cast(null as {{ regcalc.type_money() }}) as delta
    from rules
    where 1 = 0
    {% endfor %}

),

final as (

    select
        changes.*,
        rules.adjustment_key,
        rules.description,
        rules.priority,
        rules.author,
        rules.approver,
        rules.approved_at,
        rules.reference
    from changes
    inner join rules on changes.rule_id = rules.rule_id

)

select * from final
